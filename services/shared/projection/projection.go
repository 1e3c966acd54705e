package projection

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ketenbus/ketenbus/services/shared/redisx"
)

var (
	// ErrIncomplete is wrapped by a live write refused because the
	// projection's marker is missing: the projection is being rebuilt, or
	// waits for a rebuild. Nothing was written; try again once it is
	// complete (Keeper.Hold).
	ErrIncomplete = errors.New("projection incomplete in redis")
	// ErrFenced is wrapped by a rebuild's write refused because the
	// rebuild no longer holds the lock. Nothing was written.
	ErrFenced = errors.New("rebuild lock lost")
	// ErrLocked is wrapped by Acquire when another rebuild holds the lock.
	ErrLocked = errors.New("another rebuild is running")
	// ErrChanged is returned by Acquire when the marker is no longer as
	// the caller saw it.
	ErrChanged = errors.New("projection changed meanwhile")
)

// Reasons for a rebuild, as the marker, the logs and the metrics name
// them.
const (
	// ReasonEmpty: no marker and no data. Redis restarted empty, was
	// flushed, or the region is new.
	ReasonEmpty = "empty"
	// ReasonUnmarked: data but no marker. The first start of a ketenbus
	// with markers, or a rebuild that did not finish.
	ReasonUnmarked = "unmarked"
	// ReasonBehind: the consumer acknowledged events beyond the marker's
	// seq. Redis lost its last writes.
	ReasonBehind = "behind"
	// ReasonRequested: an operator asked for it (ketenbus timers rebuild).
	ReasonRequested = "requested"
)

// Keys names the Redis keys of one projection.
type Keys struct {
	// Marker is the hash that says the projection is complete.
	Marker string
	// Lock is the rebuild lock.
	Lock string
	// Data is a key that exists whenever the projection holds anything:
	// it tells an empty Redis from one with data but no marker.
	Data string
}

// KeysOf returns the keys of the projection whose keys start with
// prefix; data is the name (after prefix) of its Data key.
func KeysOf(prefix, data string) Keys {
	return Keys{Marker: prefix + "projection", Lock: prefix + "rebuild", Data: prefix + data}
}

// Marker is what a complete projection says about itself.
type Marker struct {
	// Seq is the EVENTS sequence up to which the last rebuild applied
	// every event its service consumes: live writes for events up to Seq
	// are skipped.
	Seq uint64
	// Applied is the highest EVENTS sequence a live write was for (Seq
	// at most after a rebuild).
	Applied uint64
	// Built is when the last rebuild finished, Took how long it took,
	// Events how many events it read, Reason why it ran (Reason*), and
	// From the sequence it started at when it caught up (0: from the
	// start).
	Built  time.Time
	Took   time.Duration
	Events uint64
	Reason string
	From   uint64
}

// State is what Redis says about a projection.
type State struct {
	// Marker is the marker, when Complete.
	Marker
	// Complete is true while the marker exists.
	Complete bool
	// Rebuilding is true while a rebuild holds the lock, taken at Since.
	Rebuilding bool
	Since      time.Time
	// HasData is true when the projection's Data key exists.
	HasData bool
}

// Read returns the state of the projection with keys k, in one round
// trip.
func Read(ctx context.Context, rdb redis.UniversalClient, k Keys) (State, error) {
	pipe := rdb.Pipeline()
	m := pipe.HGetAll(ctx, k.Marker)
	l := pipe.Get(ctx, k.Lock)
	d := pipe.Exists(ctx, k.Data)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return State{}, err
	}
	st := stateOf(m.Val())
	if v, err := l.Result(); err == nil {
		st.Rebuilding, st.Since = true, lockSince(v)
	}
	st.HasData = d.Val() > 0
	return st, nil
}

// stateOf reads the fields of a marker hash; none means no marker.
func stateOf(f map[string]string) State {
	seq, ok := f["seq"]
	if !ok {
		return State{}
	}
	num := func(s string) uint64 { n, _ := strconv.ParseUint(s, 10, 64); return n }
	ms := func(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }
	st := State{Complete: true, Marker: Marker{
		Seq: num(seq), Applied: num(f["applied"]), Events: num(f["events"]), From: num(f["from"]), Reason: f["reason"],
		Took: time.Duration(ms(f["took"])) * time.Millisecond,
	}}
	if b := ms(f["built"]); b > 0 {
		st.Built = time.UnixMilli(b).UTC()
	}
	return st
}

// fields returns m as the fields of its hash.
func (m Marker) fields() []any {
	return []any{"seq", m.Seq, "applied", max(m.Applied, m.Seq), "built", m.Built.UnixMilli(),
		"took", m.Took.Milliseconds(), "events", m.Events, "reason", m.Reason, "from", m.From}
}

// Holds returns the EVENTS sequence up to which the projection holds the
// events its service consumed: Seq or Applied, whichever is later.
func (m Marker) Holds() uint64 { return max(m.Seq, m.Applied) }

// lockSince reads when a lock value was taken.
func lockSince(v string) time.Time {
	ms, _, _ := strings.Cut(v, ":")
	n, err := strconv.ParseInt(ms, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(n).UTC()
}

// Writer modes, as the guard reads them.
const (
	modeFree  = "free"
	modeLive  = "live"
	modeBuild = "build"
)

// Writer says on whose behalf a store writes to its projection. The zero
// Writer writes unguarded: for tools and tests that own the Redis.
// Writers are values; copies share what Wrote reports.
type Writer struct {
	mode  string
	seq   uint64
	token string
	wrote *atomic.Bool
}

// Live returns the writer of a running service on behalf of the EVENTS
// event at seq, or of no one event when seq is 0 (firing a timer). Its
// writes fail with ErrIncomplete while the marker is missing; a write for
// an event at or below the marker's Seq (one the last rebuild applied) is
// skipped, reported as success; any other raises the marker's Applied to
// seq.
func Live(seq uint64) Writer {
	return Writer{mode: modeLive, seq: seq, wrote: new(atomic.Bool)}
}

// Keys returns the KEYS of a guarded script of w on projection k: the
// marker and the lock, then own.
func (w Writer) Keys(k Keys, own ...string) []string {
	return append([]string{k.Marker, k.Lock}, own...)
}

// Args returns the ARGV of a guarded script of w: its mode, event
// sequence and token, then own.
func (w Writer) Args(own ...any) []any {
	mode := w.mode
	if mode == "" {
		mode = modeFree
	}
	return append([]any{mode, w.seq, w.token}, own...)
}

// Ran notes that a guarded script of w succeeded (applied, or skipped as
// applied before). Stores call it.
func (w Writer) Ran() {
	if w.wrote != nil {
		w.wrote.Store(true)
	}
}

// Wrote reports whether a guarded script of a Live writer succeeded.
func (w Writer) Wrote() bool { return w.wrote != nil && w.wrote.Load() }

// Err returns ErrIncomplete or ErrFenced for the guard's refusals in err,
// else err.
func Err(err error) error {
	switch {
	case err == nil:
		return nil
	case redis.HasErrorPrefix(err, "INCOMPLETE"):
		return ErrIncomplete
	case redis.HasErrorPrefix(err, "FENCED"):
		return ErrFenced
	}
	return err
}

// Lua defines the guard projectionGuard(skipped) for a write script to
// start with, after removing the writer's two KEYS and three ARGV (see
// the package doc). It returns nil when the write goes on, else what the
// script returns instead: skipped, for a live write for an event the last
// rebuild applied, or an error reply.
const Lua = `
local projectionMarker, projectionLock = table.remove(KEYS, 1), table.remove(KEYS, 1)
local projectionMode, projectionSeq, projectionToken = table.remove(ARGV, 1), table.remove(ARGV, 1), table.remove(ARGV, 1)
local function projectionGuard(skipped)
  if projectionMode == 'live' then
    local m = redis.call('HMGET', projectionMarker, 'seq', 'applied')
    if not m[1] then
      return redis.error_reply('INCOMPLETE no marker ' .. projectionMarker .. ': the projection is being rebuilt')
    end
    if projectionSeq ~= '0' then
      local n = tonumber(projectionSeq)
      if n <= tonumber(m[1]) then
        return skipped
      end
      if not m[2] or n > tonumber(m[2]) then
        redis.call('HSET', projectionMarker, 'applied', projectionSeq)
      end
    end
  elseif projectionMode == 'build' then
    if redis.call('GET', projectionLock) ~= projectionToken then
      return redis.error_reply('FENCED the lock ' .. projectionLock .. ' is held by another rebuild')
    end
  elseif projectionMode ~= 'free' then
    return redis.error_reply('ERR unknown projection writer')
  end
  return nil
end
`

// noteScript records a live writer's event. KEYS, ARGV: the writer's.
var noteScript = redis.NewScript(Lua + `
local g = projectionGuard(0)
if g then return g end
return 1
`)

// Note records for w, a Live writer, that its event is applied although
// it changed nothing in the projection (an aanmelding without a term, a
// bevestiging that concerns no signaal), so that the marker keeps up with
// the consumer. It does nothing for other writers. Errors: ErrIncomplete
// while the marker is missing, else Redis's.
func Note(ctx context.Context, rdb redis.UniversalClient, k Keys, w Writer) error {
	if w.mode != modeLive || w.seq == 0 {
		return nil
	}
	err := noteScript.Run(ctx, rdb, w.Keys(k), w.Args()...).Err()
	if err == nil {
		w.Ran()
	}
	return Err(err)
}

// clearScript deletes keys. KEYS: the writer's, then the keys.
var clearScript = redis.NewScript(Lua + `
local g = projectionGuard(0)
if g then return g end
for _, k in ipairs(KEYS) do redis.call('UNLINK', k) end
return #KEYS
`)

// Clear deletes every key of the projection k that starts with prefix,
// the marker too, except the lock: in batches, each only as long as w may
// write (a rebuild's writer: while it holds the lock). It is not atomic.
// Errors: ErrFenced, ErrIncomplete, else Redis's.
func Clear(ctx context.Context, rdb redis.UniversalClient, k Keys, w Writer, prefix string) error {
	return redisx.ScanPrefix(ctx, rdb, prefix, func(keys []string) error {
		own := make([]string, 0, len(keys))
		for _, key := range keys {
			if key != k.Lock {
				own = append(own, key)
			}
		}
		if len(own) == 0 {
			return nil
		}
		return Err(clearScript.Run(ctx, rdb, w.Keys(k, own...), w.Args()...).Err())
	})
}
