package samenloopindex

import (
	"cmp"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/projection"
	"github.com/ketenbus/ketenbus/services/shared/redisx"
)

// ErrUnavailable is wrapped by every error that comes from Redis being
// unreachable, loading, read-only, out of memory or busy.
var ErrUnavailable = errors.New("samenloop index: redis unavailable")

// ErrInvalid is wrapped by errors about a malformed argument.
var ErrInvalid = errors.New("samenloop index: invalid")

// errCorrupt marks a reply the index cannot read.
var errCorrupt = errors.New("samenloop index: unexpected reply from redis")

// Config configures an Index.
type Config struct {
	// Prefix starts every key. Default "ketenbus:samenloop:".
	Prefix string
	// Window is how long a signaal stays active. Default 730 days.
	Window time.Duration
	// EarlyRemoval is how long a removal is remembered when its signaal
	// is not in the index yet. Default 1h: long enough for events handled
	// concurrently, or retried, to arrive.
	EarlyRemoval time.Duration
}

func (c *Config) setDefaults() {
	if c.Prefix == "" {
		c.Prefix = "ketenbus:samenloop:"
	}
	if c.Window == 0 {
		c.Window = 730 * 24 * time.Hour
	}
	if c.EarlyRemoval == 0 {
		c.EarlyRemoval = time.Hour
	}
}

// Index is the samenloop index. An Index from New writes unguarded; For
// returns one whose writes go through a projection.Writer (see the
// package doc).
type Index struct {
	rdb  redis.UniversalClient
	cfg  Config
	proj projection.Keys
	w    projection.Writer
}

// New returns an Index on rdb.
func New(rdb redis.UniversalClient, cfg Config) (*Index, error) {
	cfg.setDefaults()
	if rdb == nil {
		return nil, errors.New("samenloop index: redis client is missing")
	}
	if cfg.Window < time.Millisecond || cfg.EarlyRemoval < time.Millisecond {
		return nil, errors.New("samenloop index: Window and EarlyRemoval must be at least 1ms")
	}
	return &Index{rdb: rdb, cfg: cfg, proj: projection.KeysOf(cfg.Prefix, "due")}, nil
}

// For returns an Index on the same index whose writes (Add, Remove,
// Expire, Clear) go through w: a live writer's fail with an error
// wrapping projection.ErrIncomplete while the index is not complete, and
// are skipped for an event the last rebuild applied (Add returns no
// Outcome, Remove Unknown); a rebuild's fail with projection.ErrFenced
// once it lost its lock. Reads are the same.
func (ix *Index) For(w projection.Writer) *Index {
	c := *ix
	c.w = w
	return &c
}

// Projection returns the keys of the index's marker and rebuild lock.
func (ix *Index) Projection() projection.Keys { return ix.proj }

// Note records, for a live writer's event that changed nothing in the
// index, that the index holds it (projection.Note). Errors wrap
// projection.ErrIncomplete and ErrUnavailable.
func (ix *Index) Note(ctx context.Context) error {
	return wrapErr("note event", projection.Note(ctx, ix.rdb, ix.proj, ix.w))
}

// run runs the write script sc of ix with its writer's guard.
func (ix *Index) run(ctx context.Context, sc *redis.Script, keys []string, args ...any) *redis.Cmd {
	cmd := sc.Run(ctx, ix.rdb, ix.w.Keys(ix.proj, keys...), ix.w.Args(args...)...)
	if cmd.Err() == nil {
		ix.w.Ran()
	}
	return cmd
}

// Signal is a signaal in the index.
type Signal struct {
	// Key is events.MsgID(source, id): 32 lowercase hex digits.
	Key string
	// Partner signalled it.
	Partner string
	// At is when it was signalled, to the millisecond.
	At time.Time
	// Seq is its EVENTS stream sequence.
	Seq uint64
}

// Outcome is what adding a signaal decided.
type Outcome struct {
	// Joined is the partner that joined the person's samenloop with this
	// signaal; empty when nobody has to be told.
	Joined string
	// Others are the partners Joined joined, in the order of their first
	// live signaal.
	Others []string
	// Signals are the live signalen of Joined and Others on the person,
	// oldest first.
	Signals []Signal
}

// Add records signaal s on person (a 64-hex-digit pseudonym) at now, and
// returns whether its partner joined a samenloop. Adding a signaal that
// is already in the index returns its first Outcome and changes nothing.
// A signaal whose window has passed, or that was removed before it came,
// is not recorded.
func (ix *Index) Add(ctx context.Context, person string, s Signal, regievoerder string, now time.Time) (Outcome, error) {
	p, err := personBytes(person)
	if err != nil {
		return Outcome{}, err
	}
	k, err := keyBytes(s.Key)
	if err != nil {
		return Outcome{}, err
	}
	if !events.ValidPartnerID(s.Partner) {
		return Outcome{}, fmt.Errorf("%w: partner %q", ErrInvalid, s.Partner)
	}
	if s.At.IsZero() {
		return Outcome{}, fmt.Errorf("%w: signaal without a time", ErrInvalid)
	}
	keys := []string{ix.personKey(p), ix.bucketKey(k), ix.goneKey(s.Key)}
	args := append(ix.args(now), p, k, s.Partner, s.At.UnixMilli(), s.Seq, regievoerder)
	v, err := ix.run(ctx, addScript, keys, args...).Slice()
	if err != nil {
		return Outcome{}, wrapErr("add signaal", err)
	}
	out, err := parseOutcome(v)
	return out, wrapErr("add signaal", err)
}

// Removal is what Remove did.
type Removal int

const (
	// Unknown: the signaal is not in the index (never added, window
	// passed, or removed already). A signaal added later within
	// EarlyRemoval is not recorded.
	Unknown Removal = iota
	// Removed: the signaal left the index.
	Removed
	// NotAllowed: by is neither the signalling partner nor the
	// regievoerder; nothing changed.
	NotAllowed
)

// Remove drops signaal key early, on behalf of partner by: allowed for the
// partner that signalled it and for the regievoerder.
func (ix *Index) Remove(ctx context.Context, key, by, regievoerder string, now time.Time) (Removal, error) {
	k, err := keyBytes(key)
	if err != nil {
		return Unknown, err
	}
	keys := []string{ix.bucketKey(k), ix.goneKey(key)}
	args := append(ix.args(now), k, by, regievoerder, ix.cfg.EarlyRemoval.Milliseconds())
	n, err := ix.run(ctx, removeScript, keys, args...).Int()
	if err != nil {
		return Unknown, wrapErr("remove signaal", err)
	}
	switch n {
	case 1:
		return Removed, nil
	case -1:
		return NotAllowed, nil
	}
	return Unknown, nil
}

// Expire drops the signalen whose window passed by now, visiting at most
// limit persons per script call until none is due. It returns the
// signalen dropped.
func (ix *Index) Expire(ctx context.Context, now time.Time, limit int) (int, error) {
	if limit < 1 {
		return 0, fmt.Errorf("%w: limit %d", ErrInvalid, limit)
	}
	dropped := 0
	for {
		v, err := ix.run(ctx, expireScript, []string{ix.cfg.Prefix + "due"}, append(ix.args(now), limit)...).Int64Slice()
		if err != nil {
			return dropped, wrapErr("expire signalen", err)
		}
		if len(v) != 2 {
			return dropped, wrapErr("expire signalen", errCorrupt)
		}
		dropped += int(v[1])
		if v[0] < int64(limit) {
			return dropped, nil
		}
	}
}

// Persons returns how many persons have live signalen (some may have
// passed their window and wait for Expire).
func (ix *Index) Persons(ctx context.Context) (int64, error) {
	n, err := ix.rdb.ZCard(ctx, ix.cfg.Prefix+"due").Result()
	return n, wrapErr("count persons", err)
}

// Samenlopen returns how many persons have a samenloop now: live
// signalen of two or more partners, as the last change to each person
// left it. Errors wrap ErrUnavailable.
func (ix *Index) Samenlopen(ctx context.Context) (int64, error) {
	n, err := ix.rdb.SCard(ctx, ix.cfg.Prefix+"samen").Result()
	return n, wrapErr("count samenlopen", err)
}

// Person returns the signalen on person in the index, oldest first, and
// the partners of its samenloop in the order of their first live signaal
// (none when there is no samenloop). It reads; signalen whose window passed may still be
// listed until Expire.
func (ix *Index) Person(ctx context.Context, person string) ([]Signal, []string, error) {
	p, err := personBytes(person)
	if err != nil {
		return nil, nil, err
	}
	all, err := ix.rdb.HGetAll(ctx, ix.personKey(p)).Result()
	if err != nil {
		return nil, nil, wrapErr("read person", err)
	}
	var (
		signals []Signal
		members []string
	)
	for f, v := range all {
		if f == "m" {
			members = strings.Split(v, ",")
			continue
		}
		parts := strings.SplitN(v, "\x00", 4)
		if len(parts) != 4 {
			return nil, nil, wrapErr("read person", errCorrupt)
		}
		s, err := signal(f, parts[0], parts[1], parts[2])
		if err != nil {
			return nil, nil, wrapErr("read person", err)
		}
		signals = append(signals, s)
	}
	sortSignals(signals)
	return signals, members, nil
}

// Clear deletes the whole index, its marker too, but not the rebuild
// lock: for a rebuild. It is not atomic. Errors wrap ErrUnavailable and
// projection.ErrFenced.
func (ix *Index) Clear(ctx context.Context) error {
	return wrapErr("clear index", projection.Clear(ctx, ix.rdb, ix.proj, ix.w, ix.cfg.Prefix))
}

func (ix *Index) args(now time.Time) []any {
	return []any{ix.cfg.Prefix, now.UnixMilli(), ix.cfg.Window.Milliseconds()}
}

func (ix *Index) personKey(p string) string { return ix.cfg.Prefix + "x:" + p }

func (ix *Index) bucketKey(k string) string {
	return ix.cfg.Prefix + "s:" + hex.EncodeToString([]byte(k[:2]))
}

func (ix *Index) goneKey(key string) string { return ix.cfg.Prefix + "gone:" + key }

// personBytes returns the 32 raw bytes of a 64-hex-digit pseudonym.
func personBytes(person string) (string, error) {
	b, err := lowerHex(person, 32)
	if err != nil {
		return "", fmt.Errorf("%w: a person is a pseudonym of 64 lowercase hex digits", ErrInvalid)
	}
	return b, nil
}

// keyBytes returns the 16 raw bytes of a 32-hex-digit signaal key.
func keyBytes(key string) (string, error) {
	b, err := lowerHex(key, 16)
	if err != nil {
		return "", fmt.Errorf("%w: a signaal key is events.MsgID(source, id), 32 lowercase hex digits", ErrInvalid)
	}
	return b, nil
}

func lowerHex(s string, n int) (string, error) {
	if len(s) != 2*n || strings.ToLower(s) != s {
		return "", ErrInvalid
	}
	b, err := hex.DecodeString(s)
	return string(b), err
}

func parseOutcome(v []any) (Outcome, error) {
	if len(v) < 2 || (len(v)-2)%4 != 0 {
		return Outcome{}, errCorrupt
	}
	joined, _ := v[0].(string)
	others, _ := v[1].(string)
	out := Outcome{Joined: joined}
	if others != "" {
		out.Others = strings.Split(others, ",")
	}
	for i := 2; i < len(v); i += 4 {
		f, _ := v[i].(string)
		p, _ := v[i+1].(string)
		at, _ := v[i+2].(string)
		seq, _ := v[i+3].(string)
		s, err := signal(f, p, at, seq)
		if err != nil {
			return Outcome{}, err
		}
		out.Signals = append(out.Signals, s)
	}
	return out, nil
}

func signal(field, partner, at, seq string) (Signal, error) {
	ms, err1 := strconv.ParseInt(at, 10, 64)
	n, err2 := strconv.ParseUint(seq, 10, 64)
	if len(field) != 16 || err1 != nil || err2 != nil {
		return Signal{}, errCorrupt
	}
	return Signal{Key: hex.EncodeToString([]byte(field)), Partner: partner, At: time.UnixMilli(ms).UTC(), Seq: n}, nil
}

// sortSignals orders signalen oldest first (then by EVENTS sequence), as
// the scripts do.
func sortSignals(s []Signal) {
	slices.SortFunc(s, func(a, b Signal) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Seq, b.Seq); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
}

// wrapErr prefixes err with op and marks it with ErrUnavailable when Redis
// could not serve it; the guard's refusals come back as
// projection.ErrIncomplete and projection.ErrFenced.
func wrapErr(op string, err error) error {
	return redisx.Wrap(op, projection.Err(err), ErrUnavailable, ErrInvalid, errCorrupt, projection.ErrIncomplete, projection.ErrFenced)
}
