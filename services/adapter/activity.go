package adapter

import (
	"log/slog"
	"time"

	"github.com/ketenbus/ketenbus/services/shared/activity"
	"github.com/ketenbus/ketenbus/services/shared/telemetry"
)

// note publishes the end of an attempt to the activity log. outcome is one
// of the outcome constants; reason never holds a response body.
func (p *partner) note(d deliveryInfo, outcome string, status int, reason string, end time.Time) {
	d.span.SetAttributes(telemetry.AttrOutcome.String(outcome))
	r := activity.Record{
		Time: end.UTC(), Partner: p.id, Kind: activity.KindAttempt,
		Subscription: d.subscription, EventID: d.eventID, Attempt: d.attempt,
		Status: status, Outcome: outcome, Reason: reason,
		Millis: float64(end.Sub(d.start).Microseconds()) / 1000,
	}
	if d.event != nil {
		r.EventType = d.event.StringAttr("type")
	}
	if err := p.activity.Publish(r); err != nil {
		p.logger.Debug("activity not published", slog.String("error", err.Error()))
	}
}

// noteCircuit publishes a change of the partner's circuit breaker; the
// breaker's states are named as activity's (activity.Circuit*).
func (p *partner) noteCircuit(to breakerState) {
	r := activity.Record{Time: p.now().UTC(), Partner: p.id, Kind: activity.KindCircuit, Circuit: to.String()}
	if err := p.activity.Publish(r); err != nil {
		p.logger.Debug("activity not published", slog.String("error", err.Error()))
	}
}
