package natsauth

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/events/partner"
	"github.com/ketenbus/ketenbus/services/shared/region"
)

// PartnerConsumerConfig returns the durable consumer on DELIVERY of a
// NATS-native partner: named PartnerConsumer(id), filtered on the
// partner's DELIVERY subject, explicit acks, the partner SDK's defaults for
// MaxAckPending and AckWait. It is the consumer the partner SDK's Consume
// with Create would make, created instead by an operator, since the
// partner's user may not create consumers.
func PartnerConsumerConfig(partnerID string) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       PartnerConsumer(partnerID),
		Description:   "ketenbus deliveries for " + partnerID,
		FilterSubject: events.DeliverySubject(partnerID),
		AckPolicy:     jetstream.AckExplicitPolicy,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		MaxAckPending: partner.DefaultMaxAckPending,
		AckWait:       partner.DefaultAckWait,
	}
}

// EnsurePartnerConsumers creates or updates the consumer of every
// NATS-native partner of cfg (PartnerConsumerConfig). js must be
// connected as a user that may create consumers on DELIVERY (admin).
func EnsurePartnerConsumers(ctx context.Context, js jetstream.JetStream, cfg *region.Config) error {
	for _, p := range cfg.Partners {
		if p.Delivery.NATS == nil {
			continue
		}
		cc := PartnerConsumerConfig(p.ID)
		if _, err := js.CreateOrUpdateConsumer(ctx, events.StreamDelivery, cc); err != nil {
			return fmt.Errorf("consumer %s of partner %s: %w", cc.Durable, p.ID, err)
		}
	}
	return nil
}
