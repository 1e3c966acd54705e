package bus

import (
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/events/partner"
)

// Durable consumers of the services on EVENTS: the default Durable of
// router.Config, escalator.Config and samenloop.Config. A service run with
// another durable needs the NATS authorization (natsauth) changed to match.
const (
	ConsumerRouter    = "router"
	ConsumerEscalator = "escalator"
	ConsumerSamenloop = "samenloop"
)

// AdapterConsumer returns the durable name of the adapter's consumer on
// DELIVERY for a webhook partner, and of its Watermill handler:
// "adapter-<id>".
func AdapterConsumer(partnerID string) string { return "adapter-" + partnerID }

// PartnerConsumer returns the durable name of a NATS-native partner's
// consumer on DELIVERY: "partner-<id>". Operators create it (see
// PartnerConsumerConfig); the partner binds to it with the partner SDK's
// Consume, ConsumeConfig{Consumer: PartnerConsumer(id)}.
func PartnerConsumer(partnerID string) string { return "partner-" + partnerID }

// EscalatorSubjects are the EVENTS subjects the escalator watches: the
// events that start a term and the bevestigingen that stop it.
func EscalatorSubjects() []string {
	return []string{
		events.EventTypeSubject(events.TypeAanmelding),
		events.EventTypeSubject(events.TypeBevestiging),
		events.EventTypeSubject(events.TypeOverdrachtJeugdWmo),
	}
}

// SamenloopSubjects are the EVENTS subjects samenloop detection watches.
func SamenloopSubjects() []string {
	return []string{
		events.EventTypeSubject(events.TypeSignaal),
		events.EventTypeSubject(events.TypeBevestiging),
	}
}

// RouterConsumerConfig returns the router's durable consumer on EVENTS:
// every event, up to maxAckPending in flight.
func RouterConsumerConfig(durable string, ackWait time.Duration, maxAckPending int) jetstream.ConsumerConfig {
	return eventsConsumer(durable, "ketenbus router: EVENTS to DELIVERY", []string{events.SubjectEventsAll}, ackWait, maxAckPending)
}

// EscalatorConsumerConfig returns the escalator's durable consumer on
// EVENTS (EscalatorSubjects), in order, one at a time: a bevestiging never
// overtakes its aanmelding, and the live timers equal a rebuild's.
func EscalatorConsumerConfig(durable string) jetstream.ConsumerConfig {
	return eventsConsumer(durable, "ketenbus escalator: terms of aanmeldingen and overdrachten", EscalatorSubjects(), 30*time.Second, 1)
}

// SamenloopConsumerConfig returns samenloop detection's durable consumer
// on EVENTS (SamenloopSubjects).
func SamenloopConsumerConfig(durable string, maxAckPending int) jetstream.ConsumerConfig {
	return eventsConsumer(durable, "ketenbus samenloop: signalen on the same person", SamenloopSubjects(), 30*time.Second, maxAckPending)
}

// eventsConsumer is a service's durable consumer on EVENTS, from its first
// event, with explicit acks.
func eventsConsumer(durable, description string, subjects []string, ackWait time.Duration, maxAckPending int) jetstream.ConsumerConfig {
	cc := jetstream.ConsumerConfig{
		Durable:       durable,
		Description:   description,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       ackWait,
		MaxAckPending: maxAckPending,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
	if len(subjects) == 1 {
		cc.FilterSubject = subjects[0]
	} else {
		cc.FilterSubjects = subjects
	}
	return cc
}

// AdapterConsumerConfig returns the adapter's durable consumer of a webhook
// partner's DELIVERY subject. ackWait covers one request and the writes
// after it; MaxDeliver is unlimited because the adapter decides when a
// delivery goes to the DLQ.
func AdapterConsumerConfig(partnerID string, ackWait time.Duration, maxAckPending int) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       AdapterConsumer(partnerID),
		Description:   "ketenbus adapter: DELIVERY to the webhook of " + partnerID,
		FilterSubject: events.DeliverySubject(partnerID),
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       ackWait,
		MaxAckPending: maxAckPending,
		MaxDeliver:    -1,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
}

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
