package router

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/time/rate"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/audit"
	"github.com/ketenbus/ketenbus/services/shared/bus"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/streams"
)

// Errors of a ReplayConfig that cannot run. They never hold the value
// that was given: a subject that is not a pseudonym may be a BSN.
var (
	// ErrUnknownPartner: a partner that is not in the region.
	ErrUnknownPartner = errors.New("not a partner of the region")
	// ErrUnknownType: an event type that is not in the catalog.
	ErrUnknownType = errors.New("not an event type of the catalog")
	// ErrSubject: a subject that is not a pseudonym (64 lowercase hex
	// digits).
	ErrSubject = errors.New("subject is not a pseudonym: it must be 64 hex digits")
)

// ReplayConfig configures Replay.
type ReplayConfig struct {
	// Region holds the partners and their subscriptions; required.
	Region *region.Config
	// JetStream is where EVENTS is read and DELIVERY written; required.
	JetStream jetstream.JetStream
	// Partners are the partners to deliver to; empty means every partner
	// of the region.
	Partners []string
	// Types limits the replay to events of these types; empty means
	// every type. A partner gets only types it subscribes to, as live.
	Types []string
	// Subject limits the replay to the events about one person: their
	// CloudEvents subject, a pseudonym. Empty means every event.
	Subject string
	// Range says where on EVENTS to start and stop; its Progress is
	// called with the events read.
	Range streams.ReplayOptions
	// DryRun routes and counts, and publishes nothing.
	DryRun bool
	// Rate limits deliveries per second; zero means no limit.
	Rate float64
	// ID is the replay id; default a new one (NewReplayID).
	ID string
	// Window bounds the deliveries waiting for their PubAck. Default 1024.
	Window int
}

func (c *ReplayConfig) setDefaults() {
	if c.ID == "" {
		c.ID = NewReplayID()
	}
	if c.Window == 0 {
		c.Window = 1024
	}
}

// Validate reports a config Replay cannot run with: the errors wrap
// ErrUnknownPartner, ErrUnknownType and ErrSubject where they apply.
func (c ReplayConfig) Validate() error {
	var errs []error
	if c.Region == nil {
		errs = append(errs, errors.New("replay: Region is missing"))
	}
	if c.JetStream == nil {
		errs = append(errs, errors.New("replay: JetStream is missing"))
	}
	for _, p := range c.Partners {
		if c.Region == nil {
			break
		}
		if _, ok := c.Region.Partner(p); !ok {
			errs = append(errs, fmt.Errorf("replay: partner %q: %w", p, ErrUnknownPartner))
		}
	}
	for _, t := range c.Types {
		if !events.KnownType(t) {
			errs = append(errs, fmt.Errorf("replay: type %q: %w", t, ErrUnknownType))
		}
	}
	if c.Subject != "" && !audit.ValidDataSubject(c.Subject) {
		errs = append(errs, fmt.Errorf("replay: %w", ErrSubject))
	}
	if c.Rate < 0 {
		errs = append(errs, errors.New("replay: Rate must not be negative"))
	}
	if c.Window < 1 {
		errs = append(errs, errors.New("replay: Window must be at least 1"))
	}
	return errors.Join(errs...)
}

// NewReplayID returns a new random replay id: 16 lowercase hex digits.
func NewReplayID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ReplayReport is what a replay did.
type ReplayReport struct {
	// ID is the replay id every delivery of the replay carries.
	ID string
	// Events is the number of events read from EVENTS: those of the range
	// whose type some chosen partner subscribes to.
	Events uint64
	// Unreadable counts events that are not a structured CloudEvent: they
	// give no deliveries, live or replayed.
	Unreadable uint64
	// Counts are the deliveries per partner and type (made, or with
	// DryRun to be made), sorted by partner, then type.
	Counts []ReplayCount
}

// ReplayCount is the number of deliveries of one type to one partner.
type ReplayCount struct {
	Partner, Type string
	Deliveries    uint64
}

// Deliveries returns the number of deliveries of every count.
func (r ReplayReport) Deliveries() uint64 {
	var n uint64
	for _, c := range r.Counts {
		n += c.Deliveries
	}
	return n
}

// Replay delivers the events of a range of EVENTS again, to some partners
// (or all): it reads them in order with an ordered consumer, routes each
// with the router's own table (the same subscriptions, CESQL filters,
// ontvanger rule and field allow-lists as live delivery) restricted to
// those partners, and stores the deliveries on their DELIVERY subjects.
// Sealed fields stay sealed: the adapter opens them at delivery, as live.
//
// Each delivery is the live one plus the header Ketenbus-Replay with the
// replay id, and a Nats-Msg-Id made of the live one and the replay id:
// JetStream takes it for neither the live delivery nor another replay's,
// and stores a publish retried within the replay once. Deliveries to
// NATS-native partners are written to the processing log, with the
// replay id, as the live router writes them.
//
// Replay returns when every delivery is stored, or at the first error (a
// PubAck that did not come after retries, or a read error), with what it
// did so far. A config that cannot run gives an error wrapping
// ErrUnknownPartner, ErrUnknownType or ErrSubject where they apply.
func Replay(ctx context.Context, cfg ReplayConfig) (ReplayReport, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return ReplayReport{}, err
	}
	r, err := New(Config{Region: cfg.Region, JetStream: cfg.JetStream, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return ReplayReport{}, err
	}
	table := r.table
	if len(cfg.Partners) > 0 {
		table = table.Only(cfg.Partners...)
	}
	// Read only the types some chosen partner can receive.
	var subjects []string
	for _, t := range table.Types() {
		if len(cfg.Types) == 0 || slices.Contains(cfg.Types, t) {
			subjects = append(subjects, events.EventTypeSubject(t))
		}
	}
	rp := &replay{cfg: cfg, r: r, table: table, counts: map[ReplayCount]uint64{},
		replayHdr: []string{cfg.ID}, retention: map[string]time.Duration{}}
	if cfg.Rate > 0 {
		rp.limit = rate.NewLimiter(rate.Limit(cfg.Rate), max(1, int(cfg.Rate/100)))
	}
	if len(subjects) > 0 {
		rp.events, err = streams.Replay(ctx, cfg.JetStream, events.StreamEvents, subjects, cfg.Range, func(m jetstream.Msg) error {
			return rp.event(ctx, m)
		})
		if ferr := rp.flush(ctx, 0); err == nil {
			err = ferr
		}
	}
	return rp.report(), err
}

// replay is one run of Replay.
type replay struct {
	cfg        ReplayConfig
	r          *Router
	table      *Table
	limit      *rate.Limiter
	replayHdr  []string
	retention  map[string]time.Duration // by type, RetentionOf
	events     uint64
	unreadable uint64
	// counts holds the deliveries per partner and type (Deliveries zero).
	counts map[ReplayCount]uint64
	// pending are the publishes waiting for their PubAck, oldest first.
	pending []pending
}

type pending struct {
	fut   jetstream.PubAckFuture
	count ReplayCount
}

// event routes one event of the range and publishes its deliveries.
func (rp *replay) event(ctx context.Context, m jetstream.Msg) error {
	md, err := m.Metadata()
	if err != nil {
		return fmt.Errorf("read EVENTS: %w", err)
	}
	seq := md.Sequence.Stream
	payload := m.Data()
	if rp.cfg.Subject != "" {
		obj, err := events.Members(payload)
		if err != nil {
			rp.unreadable++
			return nil
		}
		if events.LookupText(obj, "subject") != rp.cfg.Subject {
			return nil
		}
	}
	id := m.Headers().Get(jetstream.MsgIDHeader)
	if id == "" {
		id = strconv.FormatUint(seq, 10) // as the live router's consumer does
	}
	routing, err := rp.table.Route(payload, seq, id)
	if err != nil {
		rp.unreadable++
		return nil
	}
	ds := routing.Deliveries
	if len(ds) == 0 {
		return nil
	}
	if rp.cfg.DryRun {
		for _, d := range ds {
			rp.counts[ReplayCount{Partner: d.Partner, Type: routing.Type}]++
		}
		return nil
	}
	start := time.Now()
	retention, ok := rp.retention[routing.Type]
	if !ok {
		retention = rp.cfg.Region.RetentionOf(routing.Type)
		rp.retention[routing.Type] = retention
	}
	ttlText := bus.TTLValue(bus.Remaining(retention, md.Timestamp, start))
	seqText := []string{strconv.FormatUint(seq, 10)}
	for i := range ds {
		if err := rp.publish(ctx, ds[i].msg(seqText, ttlText, rp.replayHdr), ReplayCount{Partner: ds[i].Partner, Type: routing.Type}); err != nil {
			return err
		}
	}
	records, err := rp.r.outbox.LogMsgs(rp.r.logEntries(routing, seq, start, rp.cfg.ID))
	if err != nil {
		return err
	}
	for _, msg := range records {
		if err := rp.publish(ctx, msg, ReplayCount{}); err != nil {
			return err
		}
	}
	return nil
}

// publish publishes msg asynchronously, after the rate limit allows a
// delivery (count names it; a processing log record has none). When the
// window is full it waits for the oldest half of the PubAcks: the
// publishes of the other half keep the connection busy meanwhile.
func (rp *replay) publish(ctx context.Context, msg *nats.Msg, count ReplayCount) error {
	if rp.limit != nil && count.Partner != "" {
		if err := rp.limit.Wait(ctx); err != nil {
			return err
		}
	}
	fut, err := rp.cfg.JetStream.PublishMsgAsync(msg)
	if err != nil {
		return fmt.Errorf("store delivery for %s: %w", cmp.Or(count.Partner, "the processing log"), err)
	}
	if rp.pending = append(rp.pending, pending{fut, count}); len(rp.pending) < rp.cfg.Window {
		return nil
	}
	return rp.flush(ctx, rp.cfg.Window/2)
}

// publishRetries is how often a publish whose PubAck did not come is
// tried again (same Nats-Msg-Id: stored once) before Replay fails.
const publishRetries = 3

// flush waits for the oldest PubAcks until at most keep are pending, and
// counts the deliveries stored.
func (rp *replay) flush(ctx context.Context, keep int) error {
	done := 0
	defer func() { rp.pending = rp.pending[:copy(rp.pending, rp.pending[done:])] }()
	for len(rp.pending)-done > keep {
		p := rp.pending[done]
		for try := 0; ; try++ {
			var err error
			select {
			case <-p.fut.Ok():
			case err = <-p.fut.Err():
			case <-ctx.Done():
				err = ctx.Err()
			}
			if err == nil {
				break
			}
			if ctx.Err() != nil || try == publishRetries {
				return fmt.Errorf("store delivery for %s: %w", cmp.Or(p.count.Partner, "the processing log"), err)
			}
			time.Sleep(time.Duration(try+1) * 100 * time.Millisecond)
			if p.fut, err = rp.cfg.JetStream.PublishMsgAsync(p.fut.Msg()); err != nil {
				return fmt.Errorf("store delivery for %s: %w", cmp.Or(p.count.Partner, "the processing log"), err)
			}
		}
		if p.count.Partner != "" {
			rp.counts[p.count]++
		}
		done++
	}
	return nil
}

func (rp *replay) report() ReplayReport {
	rep := ReplayReport{ID: rp.cfg.ID, Events: rp.events, Unreadable: rp.unreadable}
	for _, c := range slices.SortedFunc(maps.Keys(rp.counts), func(a, b ReplayCount) int {
		return cmp.Or(cmp.Compare(a.Partner, b.Partner), cmp.Compare(a.Type, b.Type))
	}) {
		c.Deliveries = rp.counts[c]
		rep.Counts = append(rep.Counts, c)
	}
	return rep
}
