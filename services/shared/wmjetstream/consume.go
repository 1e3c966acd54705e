package wmjetstream

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go/jetstream"
)

// Consume runs a Watermill Router with one handler, called name, on the
// durable consumer cc of stream, until ctx ends; then it returns nil.
// Messages are handed to h concurrently up to cc.MaxAckPending; a panic
// in h nacks its message (Recover).
func Consume(ctx context.Context, js jetstream.JetStream, stream string, cc jetstream.ConsumerConfig, name string, logger *slog.Logger, h message.NoPublishHandlerFunc) error {
	wl := Logger(logger)
	sub, err := NewSubscriber(js, SubscriberConfig{
		Stream:   stream,
		Consumer: func(string) jetstream.ConsumerConfig { return cc },
		Logger:   wl,
	})
	if err != nil {
		return err
	}
	wr, err := message.NewRouter(message.RouterConfig{CloseTimeout: 10 * time.Second}, wl)
	if err != nil {
		return err
	}
	topic := cc.FilterSubject
	if topic == "" {
		topic = fmt.Sprint(cc.FilterSubjects)
	}
	wr.AddMiddleware(Recover(logger, name))
	wr.AddConsumerHandler(name, topic, sub, h)
	if err := wr.Run(ctx); err != nil && ctx.Err() == nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}
