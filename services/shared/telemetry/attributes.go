package telemetry

import (
	"go.opentelemetry.io/otel/attribute"

	"github.com/ketenbus/ketenbus/events"
)

// Span names of the hops of an event.
const (
	SpanIngest  = "gateway.ingest"
	SpanRoute   = "router.route"
	SpanDeliver = "adapter.deliver"
)

// Span attribute keys. They name the event, the partner and the
// subscription, never the subject (the pseudonym), a BSN, a data field or
// a token: there is deliberately no key for those.
const (
	// AttrEventID, AttrEventType and AttrEventSource are the CloudEvents
	// semantic conventions' keys.
	AttrEventID     = attribute.Key("cloudevents.event_id")
	AttrEventType   = attribute.Key("cloudevents.event_type")
	AttrEventSource = attribute.Key("cloudevents.event_source")
	// AttrPartner is the partner id: the publisher at the gateway, the
	// receiver at the adapter.
	AttrPartner      = attribute.Key("ketenbus.partner")
	AttrSubscription = attribute.Key("ketenbus.subscription")
	// AttrSequence is the event's EVENTS stream sequence.
	AttrSequence = attribute.Key("ketenbus.event.sequence")
	// AttrDeliveries is the number of deliveries the router stored.
	AttrDeliveries = attribute.Key("ketenbus.deliveries")
	// AttrAttempt is the delivery attempt, counted from 1.
	AttrAttempt = attribute.Key("ketenbus.attempt")
	// AttrOutcome is how a hop ended: stored or duplicate at the gateway;
	// delivered, retry, dlq or retired at the adapter.
	AttrOutcome = attribute.Key("ketenbus.outcome")
	// AttrHTTPStatus is the HTTP semantic conventions' response status key.
	AttrHTTPStatus = attribute.Key("http.response.status_code")
	// AttrHTTPMethod is the HTTP semantic conventions' request method key.
	AttrHTTPMethod = attribute.Key("http.request.method")
)

// EventID is the span attribute of an event's id. A partner chooses its
// ids freely; one that holds what looks like a BSN has it replaced, so it
// never reaches the trace backend.
func EventID(id string) attribute.KeyValue {
	return AttrEventID.String(events.RedactBSNs(id))
}
