package timers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ketenbus/ketenbus/services/shared/projection"
	"github.com/ketenbus/ketenbus/services/shared/redisx"
)

// ErrUnavailable is wrapped by every error that comes from Redis being
// unreachable (refused, timed out, closed) or unable to serve (loading its
// data, read-only replica, out of memory, busy, cluster down). The effect
// was not stored; try again later.
var ErrUnavailable = errors.New("timers: redis unavailable")

// ErrInvalid is wrapped by errors about a malformed timer, id or argument.
var ErrInvalid = errors.New("timers: invalid")

// Timer is the escalator's state of one watched event: which level of its
// ladder fires next, when, and what it reports.
type Timer struct {
	// ID is the deterministic id of the watched event, events.MsgID(source,
	// id): 32 hex digits. It comes back in lowercase.
	ID string
	// Kind is "aanmelding" or "overdracht".
	Kind string
	// Betreft names the watched event.
	Betreft Ref
	// Subject is the pseudonym of the person (64 hex digits), never a BSN.
	Subject string
	// Ontvanger is the partner that must acknowledge.
	Ontvanger string
	// Sender is the partner that sent the watched event.
	Sender string
	// Level is the next level to fire; 0 is the reminder.
	Level int
	// Reden is the reason the next firing reports (termijn-verstreken,
	// geweigerd, herinnering-18, achttien-zonder-bevestiging).
	Reden string
	// Termijn is the term the next firing reports.
	Termijn time.Time
	// Due is when the next firing is due.
	Due time.Time
	// Anchor is the reference instant of later levels (the 18th birthday);
	// zero when unused.
	Anchor time.Time
}

// OutOfRange reports whether a time of t lies where RFC 3339, and so JSON
// and the CloudEvents time format, cannot write it in every time zone:
// before year 1 or after year 9998 (a zone's offset can carry such a time
// past 0000 or 9999). A timer stored before the gateway bounded an
// event's time can hold one, such as a term in the year 10000 of an
// aanmelding logged on 9999-12-31. Views show such a timer marked; the
// escalator keeps it as it is.
func (t Timer) OutOfRange() bool {
	for _, tm := range []time.Time{t.Termijn, t.Due, t.Anchor} {
		if y := tm.UTC().Year(); !tm.IsZero() && (y < 1 || y > 9998) {
			return true
		}
	}
	return false
}

// Ref names an event by its CloudEvents source, id and type.
type Ref struct {
	Source, ID, Type string
}

// Config configures a Store.
type Config struct {
	// Prefix starts every key the Store uses. Default "ketenbus:timers:".
	// On Redis Cluster use a hash tag, e.g. "{ketenbus:timers}:".
	Prefix string
	// Lease is how long a claimed timer stays with its claimer before
	// another Claim may take it. Default 30s.
	Lease time.Duration
}

func (c *Config) setDefaults() {
	if c.Prefix == "" {
		c.Prefix = "ketenbus:timers:"
	}
	if c.Lease == 0 {
		c.Lease = 30 * time.Second
	}
}

// Validate reports the first field of c that is unusable.
func (c Config) Validate() error {
	if c.Lease < time.Millisecond {
		return fmt.Errorf("timers.lease %v is below 1ms", c.Lease)
	}
	return nil
}

// Store keeps timers in Redis. It is safe for concurrent use, by any
// number of Stores in any number of processes sharing one Redis and
// Prefix.
//
// A Store from New writes unguarded; For returns one whose writes go
// through a projection.Writer (see the package doc).
type Store struct {
	rdb   redis.UniversalClient
	cfg   Config
	keys  keys
	proj  projection.Keys
	w     projection.Writer
	lease int64 // ms
}

type keys struct {
	due, profileCode, profileText string
}

// New returns a Store on rdb. It does no I/O.
func New(rdb redis.UniversalClient, cfg Config) (*Store, error) {
	if rdb == nil {
		return nil, errors.New("timers: redis client is missing")
	}
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Store{
		rdb: rdb,
		cfg: cfg,
		keys: keys{
			due:         cfg.Prefix + "due",
			profileCode: cfg.Prefix + "profile:code",
			profileText: cfg.Prefix + "profile:text",
		},
		proj:  projection.KeysOf(cfg.Prefix, "due"),
		lease: cfg.Lease.Milliseconds(),
	}, nil
}

// For returns a Store on the same timers whose writes (Schedule,
// ScheduleMany, Claim, Advance, Finish, Cancel, Remember, Clear) go
// through w: a live writer's fail with an error wrapping
// projection.ErrIncomplete while the timers are not complete, and are
// skipped (reporting success, or false for Cancel) for an event the
// timers hold already; a rebuild's fail with projection.ErrFenced once it
// lost its lock. Reads are the same.
func (s *Store) For(w projection.Writer) *Store {
	c := *s
	c.w = w
	return &c
}

// Projection returns the keys of the timers' marker and rebuild lock.
func (s *Store) Projection() projection.Keys { return s.proj }

// Note records, for a live writer's event that changed no timer, that
// the timers hold it (projection.Note). Errors wrap
// projection.ErrIncomplete and ErrUnavailable.
func (s *Store) Note(ctx context.Context) error {
	return wrapErr("note event", projection.Note(ctx, s.rdb, s.proj, s.w))
}

// guarded returns the KEYS and ARGV of a write script of s.
func (s *Store) guarded(keys []string, args ...any) ([]string, []any) {
	return s.w.Keys(s.proj, keys...), s.w.Args(args...)
}

// ran notes that a write script of s succeeded when err is nil.
func (s *Store) ran(err error) error {
	if err == nil {
		s.w.Ran()
	}
	return err
}

// wrapErr prefixes err with op and marks it with ErrUnavailable when Redis
// could not serve it; the guard's refusals come back as
// projection.ErrIncomplete and projection.ErrFenced.
func wrapErr(op string, err error) error {
	return redisx.Wrap(op, projection.Err(err), ErrUnavailable, ErrInvalid, errCorrupt, projection.ErrIncomplete, projection.ErrFenced)
}
