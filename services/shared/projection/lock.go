package projection

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Lock is a rebuild lock held in Redis. Its methods are safe for
// concurrent use.
type Lock struct {
	rdb   redis.UniversalClient
	keys  Keys
	token string // the lock's value
	since time.Time
}

// acquireScript takes the lock and removes the marker. KEYS: marker,
// lock. ARGV: lock value, TTL (ms), what the marker must be: "any",
// "absent" or its seq. Reply: {1, marker fields}, {0, value of the lock
// held}, or {2} (the marker is not as expected).
var acquireScript = redis.NewScript(`
local held = redis.call('GET', KEYS[2])
if held then return {0, held} end
local seq = redis.call('HGET', KEYS[1], 'seq')
if ARGV[3] == 'absent' then
  if seq then return {2} end
elseif ARGV[3] ~= 'any' and seq ~= ARGV[3] then
  return {2}
end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
local m = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1])
return {1, m}
`)

// Acquire takes the rebuild lock of projection k for ttl and removes its
// marker, in one script: from then on the live writes of every replica
// fail with ErrIncomplete until Complete. now is the time the lock says
// it was taken. With seen set, it does so only if the marker is still as
// seen said (missing, or at the same seq), else it returns ErrChanged. It
// returns the lock and the marker as it was. Errors: ErrLocked (wrapped,
// saying since when) when another rebuild holds the lock, ErrChanged,
// else Redis's.
func Acquire(ctx context.Context, rdb redis.UniversalClient, k Keys, ttl time.Duration, now time.Time, seen *State) (*Lock, State, error) {
	expect := "any"
	if seen != nil {
		expect = "absent"
		if seen.Complete {
			expect = strconv.FormatUint(seen.Seq, 10)
		}
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	token := strconv.FormatInt(now.UnixMilli(), 10) + ":" + hex.EncodeToString(b[:])
	v, err := acquireScript.Run(ctx, rdb, []string{k.Marker, k.Lock}, token, ttl.Milliseconds(), expect).Slice()
	if err != nil {
		return nil, State{}, err
	}
	code, _ := v[0].(int64)
	switch {
	case code == 0 && len(v) == 2:
		held, _ := v[1].(string)
		return nil, State{}, fmt.Errorf("%w since %s", ErrLocked, lockSince(held).Format(time.RFC3339))
	case code == 2:
		return nil, State{}, ErrChanged
	case code != 1 || len(v) != 2:
		return nil, State{}, fmt.Errorf("acquire rebuild lock: unexpected reply %v", v)
	}
	pairs, _ := v[1].([]any)
	fields := make(map[string]string, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		f, _ := pairs[i].(string)
		val, _ := pairs[i+1].(string)
		fields[f] = val
	}
	return &Lock{rdb: rdb, keys: k, token: token, since: lockSince(token)}, stateOf(fields), nil
}

// Since returns when the lock was taken, to the millisecond.
func (l *Lock) Since() time.Time { return l.since }

// Writer returns the writer of the rebuild holding l: its writes land
// only while l is held, else they fail with ErrFenced.
func (l *Lock) Writer() Writer { return Writer{mode: modeBuild, token: l.token} }

var renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`)

// Renew extends l to ttl from now. Errors: ErrFenced when l is no
// longer held, else Redis's.
func (l *Lock) Renew(ctx context.Context, ttl time.Duration) error {
	n, err := renewScript.Run(ctx, l.rdb, []string{l.keys.Lock}, l.token, ttl.Milliseconds()).Int()
	if err == nil && n != 1 {
		return ErrFenced
	}
	return err
}

var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// Release removes l if it is still held; another rebuild may then take
// the lock. Errors are Redis's.
func (l *Lock) Release(ctx context.Context) error {
	return releaseScript.Run(ctx, l.rdb, []string{l.keys.Lock}, l.token).Err()
}

// completeScript writes the marker and removes the lock. KEYS: marker,
// lock. ARGV: lock value, then field, value pairs.
var completeScript = redis.NewScript(`
if redis.call('GET', KEYS[2]) ~= ARGV[1] then
  return redis.error_reply('FENCED the lock ' .. KEYS[2] .. ' is held by another rebuild')
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('DEL', KEYS[2])
return 1
`)

// Complete writes marker m and removes l in one step, if l is still
// held: the projection is complete from then on. Errors: ErrFenced, else
// Redis's.
func (l *Lock) Complete(ctx context.Context, m Marker) error {
	args := append([]any{l.token}, m.fields()...)
	return Err(completeScript.Run(ctx, l.rdb, []string{l.keys.Marker, l.keys.Lock}, args...).Err())
}

// Build runs rebuild with l's writer while it renews l every ttl/3, and,
// when rebuild returns without an error, writes the marker it returns
// (Built from now, Took as measured) and removes l in one step. When l is
// lost meanwhile, rebuild's context ends and Build returns an error
// wrapping ErrFenced. When rebuild fails, no marker is written and l is
// released (or, with Redis away, expires after ttl); Build returns the
// error. The returned marker is what rebuild returned, completed.
func Build(ctx context.Context, l *Lock, ttl time.Duration, now func() time.Time, rebuild func(ctx context.Context, w Writer) (Marker, error)) (Marker, error) {
	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	wg.Go(func() { l.keep(rctx, ttl, cancel) })
	start := time.Now()
	m, err := rebuild(rctx, l.Writer())
	fenced := errors.Is(context.Cause(rctx), ErrFenced)
	cancel(nil)
	wg.Wait()
	release := func() {
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer rcancel()
		_ = l.Release(rctx)
	}
	switch {
	case fenced:
		return m, fmt.Errorf("rebuild: %w", ErrFenced)
	case err != nil:
		release()
		return m, err
	}
	m.Built, m.Took = now(), time.Since(start)
	if err := l.Complete(ctx, m); err != nil {
		release()
		return m, fmt.Errorf("mark the projection complete: %w", err)
	}
	return m, nil
}

// keep renews l every ttl/3 until ctx ends, and cancels ctx with
// ErrFenced when l is lost.
func (l *Lock) keep(ctx context.Context, ttl time.Duration, cancel context.CancelCauseFunc) {
	t := time.NewTicker(max(ttl/3, time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := l.Renew(ctx, ttl); errors.Is(err, ErrFenced) {
			cancel(ErrFenced)
			return
		}
	}
}
