package timers

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ketenbus/ketenbus/services/shared/projection"
)

// Batching of ScheduleMany: timers per script call, calls per round trip.
const (
	scheduleBatch = 1000
	scheduleDepth = 8
)

// Schedule stores t, inserting it or replacing the timer with its ID, in
// one round trip. Scheduling the same timer twice stores it once. A
// replaced timer that was claimed is no longer leased. Errors wrap
// ErrInvalid for a malformed timer and ErrUnavailable when Redis cannot
// be reached.
func (s *Store) Schedule(ctx context.Context, t Timer) error {
	args, err := s.scheduleArgs([]Timer{t})
	if err != nil {
		return wrapErr("schedule timer", err)
	}
	keys, argv := s.guarded(s.writeKeys(), args...)
	return wrapErr("schedule timer", s.ran(scheduleScript.Run(ctx, s.rdb, keys, argv...).Err()))
}

// ScheduleMany stores many timers as Schedule does, pipelined, 1,000 per
// script call: for rebuilding and bulk loads. It is not atomic: after an
// error some timers may be stored, and calling it again is safe. A
// malformed timer returns an error wrapping ErrInvalid; timers before it
// may be stored, none after it. Errors wrap ErrUnavailable when Redis
// cannot be reached.
func (s *Store) ScheduleMany(ctx context.Context, ts []Timer) error {
	batches := make([][]any, 0, (len(ts)+scheduleBatch-1)/scheduleBatch)
	for start := 0; start < len(ts); start += scheduleBatch {
		args, err := s.scheduleArgs(ts[start:min(start+scheduleBatch, len(ts))])
		if err != nil {
			return wrapErr("schedule timers", err)
		}
		batches = append(batches, args)
		if len(batches) == scheduleDepth {
			if err := s.runSchedule(ctx, batches); err != nil {
				return err
			}
			batches = batches[:0]
		}
	}
	if len(batches) > 0 {
		return s.runSchedule(ctx, batches)
	}
	return nil
}

// runSchedule runs the schedule script once per batch in one pipeline,
// loading the script and trying again when Redis does not know it (a new
// or restarted Redis).
func (s *Store) runSchedule(ctx context.Context, batches [][]any) error {
	for attempt := 0; ; attempt++ {
		pipe := s.rdb.Pipeline()
		for _, args := range batches {
			keys, argv := s.guarded(s.writeKeys(), args...)
			scheduleScript.EvalSha(ctx, pipe, keys, argv...)
		}
		_, err := pipe.Exec(ctx)
		if err == nil {
			s.w.Ran()
			return nil
		}
		if attempt > 0 || !redis.HasErrorPrefix(err, "NOSCRIPT") {
			return wrapErr("schedule timers", err)
		}
		if err := scheduleScript.Load(ctx, s.rdb).Err(); err != nil {
			return wrapErr("schedule timers: load script", err)
		}
	}
}

// scheduleArgs returns the ARGV of the schedule script for ts.
func (s *Store) scheduleArgs(ts []Timer) ([]any, error) {
	profiles := make(map[string]int, 4)
	var order []string
	timers := make([]any, 0, 4*len(ts))
	for _, t := range ts {
		id, err := parseID(t.ID)
		if err != nil {
			return nil, err
		}
		p, rest, err := pack(t)
		if err != nil {
			return nil, err
		}
		idx, ok := profiles[p]
		if !ok {
			order = append(order, p)
			idx = len(order)
			profiles[p] = idx
		}
		timers = append(timers, id, dueScore(t.Due), idx, rest)
	}
	args := make([]any, 0, 2+len(order)+len(timers))
	args = append(args, s.cfg.Prefix, len(order))
	for _, p := range order {
		args = append(args, p)
	}
	return append(args, timers...), nil
}

func (s *Store) writeKeys() []string {
	return []string{s.keys.due, s.keys.profileCode, s.keys.profileText}
}

func (s *Store) readKeys() []string {
	return []string{s.keys.due, s.keys.profileText}
}

// Get returns the timer with id, and false when there is none. Errors
// wrap ErrInvalid for a malformed id and ErrUnavailable.
func (s *Store) Get(ctx context.Context, id string) (Timer, bool, error) {
	raw, err := parseID(id)
	if err != nil {
		return Timer{}, false, wrapErr("get timer", err)
	}
	v, err := getScript.Run(ctx, s.rdb, s.readKeys(), s.cfg.Prefix, raw).Slice()
	if err != nil {
		return Timer{}, false, wrapErr("get timer", err)
	}
	ts, err := parseTimers(v, 0)
	if err != nil || len(ts) == 0 {
		return Timer{}, false, wrapErr("get timer", err)
	}
	return ts[0], true, nil
}

// Cancel removes the timer with id (its bevestiging arrived) and reports
// whether it existed. A claimer's later Advance or Finish of it returns
// false. Errors wrap ErrInvalid and ErrUnavailable.
func (s *Store) Cancel(ctx context.Context, id string) (bool, error) {
	raw, err := parseID(id)
	if err != nil {
		return false, wrapErr("cancel timer", err)
	}
	keys, argv := s.guarded([]string{s.keys.due}, s.cfg.Prefix, raw)
	n, err := cancelScript.Run(ctx, s.rdb, keys, argv...).Int()
	return n == 1, wrapErr("cancel timer", s.ran(err))
}

// Claim takes, in one atomic script, up to max timers due at or before
// now, earliest first, and leases them: their due time moves to
// now+Lease, so no other Claim before then returns them, and they come
// back after it unless the claimer Advances or Finishes them. The timers
// come back as scheduled, Due included. Errors wrap ErrInvalid (max < 1)
// and ErrUnavailable; when the reply is lost the claimed timers come back
// after the lease.
func (s *Store) Claim(ctx context.Context, now time.Time, max int) ([]Timer, error) {
	if max < 1 {
		return nil, wrapErr("claim timers", fmt.Errorf("%w: max %d is below 1", ErrInvalid, max))
	}
	nowMs := now.UnixMilli()
	keys, argv := s.guarded(s.readKeys(), s.cfg.Prefix, nowMs, max, nowMs+s.lease)
	v, err := claimScript.Run(ctx, s.rdb, keys, argv...).Slice()
	if err != nil {
		return nil, wrapErr("claim timers", err)
	}
	ts, err := parseTimers(v, 0)
	return ts, wrapErr("claim timers", err)
}

// Advance replaces a claimed timer by next, its state after the claimed
// level fired, only if the stored timer is still exactly claimed (as
// Claim returned it): after a Cancel, a Schedule (such as a geweigerd that
// escalates at once), or another claimer's Advance or Finish, it changes
// nothing and returns false. next.Due ends the lease. Errors wrap
// ErrInvalid and ErrUnavailable.
func (s *Store) Advance(ctx context.Context, next, claimed Timer) (bool, error) {
	raw, err := parseID(next.ID)
	if err != nil {
		return false, wrapErr("advance timer", err)
	}
	p, rest, err := pack(next)
	if err != nil {
		return false, wrapErr("advance timer", err)
	}
	cp, crest, err := pack(claimed)
	if err != nil {
		return false, wrapErr("advance timer", err)
	}
	keys, argv := s.guarded(s.writeKeys(), s.cfg.Prefix, raw, cp, crest, dueScore(next.Due), p, rest)
	n, err := advanceScript.Run(ctx, s.rdb, keys, argv...).Int()
	return n == 1, wrapErr("advance timer", s.ran(err))
}

// Finish deletes a claimed timer whose ladder is done, only if it is
// still exactly as claimed, and reports whether it did. Errors wrap
// ErrInvalid and ErrUnavailable.
func (s *Store) Finish(ctx context.Context, claimed Timer) (bool, error) {
	raw, err := parseID(claimed.ID)
	if err != nil {
		return false, wrapErr("finish timer", err)
	}
	cp, crest, err := pack(claimed)
	if err != nil {
		return false, wrapErr("finish timer", err)
	}
	keys, argv := s.guarded([]string{s.keys.due, s.keys.profileCode}, s.cfg.Prefix, raw, cp, crest)
	n, err := finishScript.Run(ctx, s.rdb, keys, argv...).Int()
	return n == 1, wrapErr("finish timer", s.ran(err))
}

// Remember keeps value for the timer id for ttl (no expiry when ttl <= 0):
// a bevestiging that arrived before its event. Errors wrap ErrInvalid and
// ErrUnavailable.
func (s *Store) Remember(ctx context.Context, id, value string, ttl time.Duration) error {
	key, err := s.rememberKey(id)
	if err != nil {
		return wrapErr("remember", err)
	}
	keys, argv := s.guarded([]string{key}, value, max(ttl, 0).Milliseconds())
	return wrapErr("remember", s.ran(rememberScript.Run(ctx, s.rdb, keys, argv...).Err()))
}

// Remembered returns the value Remember kept for id, and false when there
// is none or it expired. Errors wrap ErrInvalid and ErrUnavailable.
func (s *Store) Remembered(ctx context.Context, id string) (string, bool, error) {
	key, err := s.rememberKey(id)
	if err != nil {
		return "", false, wrapErr("remembered", err)
	}
	v, err := s.rdb.Get(ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		return "", false, nil
	}
	if err != nil {
		return "", false, wrapErr("remembered", err)
	}
	return v, true, nil
}

func (s *Store) rememberKey(id string) (string, error) {
	raw, err := parseID(id)
	if err != nil {
		return "", err
	}
	return s.cfg.Prefix + "r:" + hex.EncodeToString([]byte(raw)), nil
}

// Pending returns the number of timers. Errors wrap ErrUnavailable.
func (s *Store) Pending(ctx context.Context) (int64, error) {
	n, err := s.rdb.ZCard(ctx, s.keys.due).Result()
	return n, wrapErr("count timers", err)
}

// List returns up to count timers in due order (a claimed timer sorts at
// the end of its lease), starting at position cursor (0 for the first
// page), and the cursor of the next page, 0 after the last. Timers that
// change between pages may be skipped or repeated. Errors wrap ErrInvalid
// and ErrUnavailable.
func (s *Store) List(ctx context.Context, cursor int64, count int) ([]Timer, int64, error) {
	if cursor < 0 || count < 1 {
		return nil, 0, wrapErr("list timers", fmt.Errorf("%w: cursor %d, count %d", ErrInvalid, cursor, count))
	}
	v, err := listScript.Run(ctx, s.rdb, s.readKeys(), s.cfg.Prefix, cursor, cursor+int64(count)-1).Slice()
	if err != nil {
		return nil, 0, wrapErr("list timers", err)
	}
	if len(v) < 1 {
		return nil, 0, wrapErr("list timers", errCorrupt)
	}
	scanned, _ := v[0].(int64)
	ts, err := parseTimers(v, 1)
	if err != nil {
		return nil, 0, wrapErr("list timers", err)
	}
	next := int64(0)
	if scanned == int64(count) {
		next = cursor + scanned
	}
	return ts, next, nil
}

// Clear deletes every key with the Store's prefix but the rebuild lock:
// the timers, their profiles, the remembered bevestigingen and the
// marker. For a rebuild; it is not atomic. Errors wrap ErrUnavailable and
// projection.ErrFenced.
func (s *Store) Clear(ctx context.Context) error {
	return wrapErr("clear timers", projection.Clear(ctx, s.rdb, s.proj, s.w, s.cfg.Prefix))
}

// parseTimers reads a script reply: at v[at] the number of timers n, then
// n (raw id, packed value) pairs, then (profile code, profile text) pairs.
func parseTimers(v []any, at int) ([]Timer, error) {
	if len(v) <= at {
		return nil, errCorrupt
	}
	n64, ok := v[at].(int64)
	n := int(n64)
	pairs := v[at+1:]
	if !ok || n < 0 || len(pairs) < 2*n || (len(pairs)-2*n)%2 != 0 {
		return nil, fmt.Errorf("%w: unexpected script reply", errCorrupt)
	}
	if n == 0 {
		return nil, nil
	}
	profiles := make(map[int64]string, (len(pairs)-2*n)/2)
	for i := 2 * n; i < len(pairs); i += 2 {
		code, ok1 := pairs[i].(int64)
		text, ok2 := pairs[i+1].(string)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("%w: unexpected profile in script reply", errCorrupt)
		}
		profiles[code] = text
	}
	ts := make([]Timer, n)
	for i := range n {
		raw, ok1 := pairs[2*i].(string)
		val, ok2 := pairs[2*i+1].(string)
		if !ok1 || !ok2 || len(raw) != 16 {
			return nil, fmt.Errorf("%w: unexpected timer in script reply", errCorrupt)
		}
		t, err := unpack(hex.EncodeToString([]byte(raw)), val, profiles)
		if err != nil {
			return nil, err
		}
		ts[i] = t
	}
	return ts, nil
}
