package monitor

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/services/shared/streams"
)

// follow reads stream on subject from since onwards, in order, and calls fn
// for each message until ctx ends. When the stream is missing or the
// consumer fails it waits and continues after the last message it saw.
func follow(ctx context.Context, js jetstream.JetStream, stream, subject string, since time.Time, logger *slog.Logger, fn func(jetstream.Msg)) {
	var next uint64 // the next stream sequence to read; 0: start at since
	for ctx.Err() == nil {
		err := followOnce(ctx, js, stream, subject, since, &next, fn)
		if ctx.Err() != nil {
			return
		}
		logger.Warn("reading a stream failed; trying again", slog.String("stream", stream), slog.String("error", err.Error()))
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func followOnce(ctx context.Context, js jetstream.JetStream, stream, subject string, since time.Time, next *uint64, fn func(jetstream.Msg)) error {
	st, err := js.Stream(ctx, stream)
	if err != nil {
		return err
	}
	cc := jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}, DeliverPolicy: jetstream.DeliverNewPolicy}
	if _, err := streams.StartFrom(ctx, st, &cc, *next, since); err != nil {
		return err
	}
	cons, err := st.OrderedConsumer(ctx, cc)
	if err != nil {
		return err
	}
	it, err := cons.Messages()
	if err != nil {
		return err
	}
	defer it.Stop()
	for {
		m, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) && ctx.Err() == nil {
				return errors.New("message iterator closed")
			}
			return err
		}
		if md, err := m.Metadata(); err == nil {
			*next = md.Sequence.Stream + 1
		}
		fn(m)
	}
}
