package natsauth

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/bus"
	"github.com/ketenbus/ketenbus/services/shared/region"
)

// EnsurePartnerConsumers creates or updates the consumer of every
// NATS-native partner of cfg (bus.PartnerConsumerConfig). js must be
// connected as a user that may create consumers on DELIVERY (admin).
func EnsurePartnerConsumers(ctx context.Context, js jetstream.JetStream, cfg *region.Config) error {
	for _, p := range cfg.Partners {
		if p.Delivery.NATS == nil {
			continue
		}
		cc := bus.PartnerConsumerConfig(p.ID)
		if _, err := js.CreateOrUpdateConsumer(ctx, events.StreamDelivery, cc); err != nil {
			return fmt.Errorf("consumer %s of partner %s: %w", cc.Durable, p.ID, err)
		}
	}
	return nil
}
