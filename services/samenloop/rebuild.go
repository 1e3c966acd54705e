package samenloop

import (
	"context"
	"fmt"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/streams"
)

// Rebuild replaces the index in Redis by the one EVENTS implies: it
// clears it, then replays the signalen and bevestigingen stored since the
// window began (now − window_days) through the same logic as the live
// service, publishing nothing. progress, when set, is called now and then
// with the events read and to read. It returns the events read.
func (s *Service) Rebuild(ctx context.Context, progress func(done, total uint64)) (uint64, error) {
	if err := s.index.Clear(ctx); err != nil {
		return 0, fmt.Errorf("clear index: %w", err)
	}
	window := time.Duration(s.cfg.Region.Samenloop.WindowDays) * 24 * time.Hour
	opts := streams.ReplayOptions{Since: s.cfg.Now().Add(-window), Progress: progress}
	return streams.Replay(ctx, s.cfg.JetStream, events.StreamEvents, watched(), opts, func(m jetstream.Msg) error {
		var ev cloudevents.Event
		if err := ev.UnmarshalJSON(m.Data()); err != nil {
			return nil // unreadable: the live service skipped it too
		}
		md, err := m.Metadata()
		if err != nil {
			return fmt.Errorf("read %s: %w", events.StreamEvents, err)
		}
		in := Input{Event: ev, Sender: events.SubjectPartner(m.Subject()), Seq: md.Sequence.Stream, Stored: md.Timestamp}
		if err := s.Apply(ctx, in, false); err != nil && !isInvalid(err) {
			return err
		}
		return nil
	})
}
