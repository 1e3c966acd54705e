package monitor

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/activity"
	"github.com/ketenbus/ketenbus/services/shared/bus"
	"github.com/ketenbus/ketenbus/services/shared/dlq"
	"github.com/ketenbus/ketenbus/services/shared/streams"
)

// Health of a partner, as the colour of its row.
const (
	healthOK    = "groen"
	healthWarn  = "oranje"
	healthAlarm = "rood"
)

// stuckAfter is the age of the oldest unacked delivery that makes a
// partner orange.
const stuckAfter = 5 * time.Minute

// partnerHealth is one row of the Overzicht.
type partnerHealth struct {
	ID, Name string
	// Mode is "webhook" or "NATS".
	Mode string
	// Endpoint is the webhook's host (never its path or query, which may
	// hold a secret).
	Endpoint string
	// Pending is how many deliveries wait or are in flight.
	Pending uint64
	// Oldest is the age of the oldest delivery not yet acknowledged; 0 when
	// none waits.
	Oldest time.Duration
	// Failures counts the failed attempts in the last hour.
	Failures int
	// Circuit is the breaker state (activity.Circuit*), "" for NATS
	// partners.
	Circuit      string
	CircuitSince time.Time
	// Retired lists the retired subscriptions.
	Retired []string
	DLQ     uint64
	Status  string
	// Why says what made the status, in Dutch.
	Why []string
	// Unknown says what could not be read.
	Unknown []string
}

// health reads the delivery state of every partner that subscribes, or
// of partner only when it is not "".
func (m *Monitor) health(ctx context.Context, now time.Time, partner string) []partnerHealth {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	dlqs, dlqErr := dlq.Counts(ctx, m.cfg.JetStream)
	retired, retiredOK := m.retiredSubscriptions()
	delivery, delErr := m.cfg.JetStream.Stream(ctx, events.StreamDelivery)

	var out []partnerHealth
	for i := range m.cfg.Region.Partners {
		p := &m.cfg.Region.Partners[i]
		if len(p.Subscriptions) == 0 || (partner != "" && p.ID != partner) {
			continue
		}
		h := partnerHealth{ID: p.ID, Name: p.Name, Mode: "webhook"}
		consumer := bus.AdapterConsumer(p.ID)
		if p.Delivery.NATS != nil {
			h.Mode, consumer = "NATS", bus.PartnerConsumer(p.ID)
		} else if p.Delivery.Webhook != nil {
			h.Endpoint = endpointHost(p.Delivery.Webhook.URL)
		}
		if delErr == nil {
			if err := pendingOf(ctx, delivery, consumer, events.DeliverySubject(p.ID), now, &h); err != nil {
				h.Unknown = append(h.Unknown, "wachtrij")
			}
		} else {
			h.Unknown = append(h.Unknown, "wachtrij")
		}
		_, h.Failures, h.Circuit, h.CircuitSince = m.feed.partner(p.ID, now)
		switch {
		case h.Mode != "webhook":
			h.Circuit = "" // NATS partners pull; no breaker
		case h.Circuit == "":
			h.Circuit = activity.CircuitClosed
		}
		for _, sub := range retired[p.ID] {
			h.Retired = append(h.Retired, safeID(sub)) // a key of the bucket, not a name from the region
		}
		if dlqErr != nil {
			h.Unknown = append(h.Unknown, "DLQ")
		}
		if !retiredOK {
			h.Unknown = append(h.Unknown, "ingetrokken abonnementen")
		}
		h.DLQ = dlqs[p.ID]
		h.judge()
		out = append(out, h)
	}
	return out
}

// judge sets Status and Why.
func (h *partnerHealth) judge() {
	h.Status = healthOK
	alarm := func(why string) { h.Status, h.Why = healthAlarm, append(h.Why, why) }
	warn := func(why string) {
		if h.Status == healthOK {
			h.Status = healthWarn
		}
		h.Why = append(h.Why, why)
	}
	if h.Circuit == activity.CircuitOpen {
		alarm("circuit open: aflevering gepauzeerd")
	}
	if len(h.Retired) > 0 {
		alarm("abonnement ingetrokken (410)")
	}
	if h.DLQ > 0 {
		alarm("berichten in de DLQ")
	}
	if h.Circuit == activity.CircuitHalfOpen {
		warn("circuit half open: proefaflevering")
	}
	if h.Failures > 0 {
		warn("mislukte pogingen in het laatste uur")
	}
	if h.Oldest > stuckAfter {
		warn("aflevering loopt achter")
	}
	if len(h.Unknown) > 0 {
		warn("niet alles is te lezen: " + strings.Join(h.Unknown, ", "))
	}
}

// pendingOf fills Pending and Oldest from the partner's consumer.
func pendingOf(ctx context.Context, st jetstream.Stream, consumer, subject string, now time.Time, h *partnerHealth) error {
	c, err := st.Consumer(ctx, consumer)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		// Not started yet: everything on its subject waits.
		info, err := st.Info(ctx, jetstream.WithSubjectFilter(subject))
		if err != nil {
			return err
		}
		h.Pending = info.State.Subjects[subject]
		if h.Pending > 0 {
			if msg, err := st.GetMsg(ctx, info.State.FirstSeq, jetstream.WithGetMsgSubject(subject)); err == nil {
				h.Oldest = now.Sub(msg.Time)
			}
		}
		return nil
	}
	if err != nil {
		return err
	}
	info := c.CachedInfo() // st.Consumer just read it
	h.Pending = info.NumPending + uint64(info.NumAckPending)
	if h.Pending > 0 {
		msg, err := st.GetMsg(ctx, info.AckFloor.Stream+1, jetstream.WithGetMsgSubject(subject))
		if err == nil {
			h.Oldest = max(now.Sub(msg.Time), 0)
		}
	}
	return nil
}

// retiredSubscriptions returns the retired subscriptions per partner; ok
// is false until they were read.
func (m *Monitor) retiredSubscriptions() (map[string][]string, bool) {
	if r := m.retired.Load(); r != nil {
		return r.Subscriptions()
	}
	return nil, false
}

// retirement returns why a partner's subscription was retired, if it is.
func (m *Monitor) retirement(partner, subscription string) (streams.Retirement, bool) {
	if r := m.retired.Load(); r != nil {
		return r.Get(partner, subscription)
	}
	return streams.Retirement{}, false
}

// endpointHost returns the scheme and host of a webhook URL.
func endpointHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(ongeldige url)"
	}
	return u.Scheme + "://" + u.Host
}
