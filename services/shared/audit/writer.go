package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/bus"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/streams"
)

// ErrPartner is returned for a record whose partner is not a partner id
// (lowercase [a-z0-9-]): it has no AUDIT subject.
var ErrPartner = errors.New("audit: partner is not a partner id")

// writeTimeout bounds waiting for the PubAcks of one Write or WriteAll
// when ctx has no earlier deadline.
const writeTimeout = 10 * time.Second

// Writer writes records to AUDIT. It is safe for concurrent use.
type Writer struct {
	js        jetstream.JetStream
	retention time.Duration
}

// NewWriter returns a Writer that stores records through js, each with a
// per-message TTL of the region's audit retention (retention: audit;
// region.DefaultRetention's when reg sets none).
func NewWriter(js jetstream.JetStream, reg *region.Config) *Writer {
	var d time.Duration
	if reg != nil {
		d = reg.Retention[region.RetentionAudit]
	}
	if d <= 0 {
		d = region.DefaultRetention()[region.RetentionAudit]
	}
	return &Writer{js: js, retention: d}
}

// Entry is one record for one partner.
type Entry struct {
	Partner string
	Record  Record
}

// Msg returns the message that stores r on ketenbus.audit.<partner>: r as
// JSON, its id as Nats-Msg-Id (JetStream stores the same record once) and
// the TTL of the audit retention. The error is ErrPartner for a partner
// that is not a partner id.
func (w *Writer) Msg(partner string, r Record) (*nats.Msg, error) {
	if !events.ValidPartnerID(partner) {
		return nil, ErrPartner
	}
	data, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("audit: encode record: %w", err)
	}
	m := &nats.Msg{
		Subject: events.AuditSubject(partner),
		Data:    data,
		Header:  nats.Header{jetstream.MsgIDHeader: {r.ID()}},
	}
	bus.SetTTL(m.Header, w.retention)
	return m, nil
}

// Write stores r on ketenbus.audit.<partner> and returns once JetStream
// stored it (or had it already). A nil error is the only proof the
// processing is logged: on an error the caller must not ack its input.
// The error is ErrPartner for a partner that is not a partner id, or what
// JetStream said.
func (w *Writer) Write(ctx context.Context, partner string, r Record) error {
	return w.WriteAll(ctx, []Entry{{Partner: partner, Record: r}})
}

// WriteAll stores every entry, asynchronously, and waits for all PubAcks:
// one round trip for all of them. It returns nil only when every record is
// stored; else the first error, as Write.
func (w *Writer) WriteAll(ctx context.Context, entries []Entry) error {
	if len(entries) == 0 {
		return nil
	}
	msgs := make([]*nats.Msg, len(entries))
	for i, e := range entries {
		m, err := w.Msg(e.Partner, e.Record)
		if err != nil {
			return err
		}
		msgs[i] = m
	}
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	if err := streams.FirstError(streams.PublishAsync(ctx, w.js, msgs)); err != nil {
		return fmt.Errorf("audit: store record: %w", err)
	}
	return nil
}
