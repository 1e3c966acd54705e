package telemetry

import (
	"net"
	"net/http"
	"net/url"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/redact"
)

// Span names of the hops of an event. The gateway's server span is named
// as the HTTP semantic conventions say (HTTPServerSpanName).
const (
	SpanIngest  = "gateway.ingest"
	SpanRoute   = "router.route"
	SpanDeliver = "adapter.deliver"
)

// Span attribute keys. They name the event, the partner and the
// subscription, never the subject (the pseudonym), a BSN, a data field or
// a token: there is deliberately no key for those. Where the OpenTelemetry
// semantic conventions have a key, it is theirs.
const (
	// AttrEventID, AttrEventType and AttrEventSource are the CloudEvents
	// semantic conventions' keys.
	AttrEventID     = semconv.CloudEventsEventIDKey
	AttrEventType   = semconv.CloudEventsEventTypeKey
	AttrEventSource = semconv.CloudEventsEventSourceKey
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
	AttrHTTPStatus = semconv.HTTPResponseStatusCodeKey
	// AttrHTTPMethod is the HTTP semantic conventions' request method key.
	AttrHTTPMethod = semconv.HTTPRequestMethodKey
	// AttrErrorType is the semantic conventions' key of what went wrong: a
	// low-cardinality identifier, such as an HTTP status code.
	AttrErrorType = semconv.ErrorTypeKey
)

// EventID is the span attribute of an event's id. A partner chooses its
// ids freely; one that holds what looks like a BSN has it replaced, so it
// never reaches the trace backend.
func EventID(id string) attribute.KeyValue {
	return AttrEventID.String(events.RedactBSNs(id))
}

// MessagingSystem is the messaging.system of every span of a NATS
// message. The semantic conventions list no value for NATS; "nats" is
// the name its own instrumentations use.
var MessagingSystem = semconv.MessagingSystemKey.String("nats")

// Publish returns the messaging attributes of a producer span that
// publishes onto the NATS subject: messaging.system,
// messaging.operation.type send, messaging.operation.name publish and
// messaging.destination.name.
func Publish(subject string) []attribute.KeyValue {
	return []attribute.KeyValue{
		MessagingSystem,
		semconv.MessagingOperationTypeSend,
		semconv.MessagingOperationName("publish"),
		semconv.MessagingDestinationName(subject),
	}
}

// Process returns the messaging attributes of a consumer span that
// processes a message of the NATS subject, read by the durable consumer:
// messaging.system, messaging.operation.type process,
// messaging.operation.name process, messaging.destination.name and
// messaging.consumer.group.name.
func Process(subject, consumer string) []attribute.KeyValue {
	return []attribute.KeyValue{
		MessagingSystem,
		semconv.MessagingOperationTypeProcess,
		semconv.MessagingOperationName("process"),
		semconv.MessagingDestinationName(subject),
		semconv.MessagingConsumerGroupName(consumer),
	}
}

// HTTPServerSpanName is the name of the server span of a request with
// method to route, as the HTTP semantic conventions have it:
// "POST /v1/events".
func HTTPServerSpanName(method, route string) string { return method + " " + route }

// HTTPServer returns the attributes of the server span of r, served by
// the handler of route: http.request.method, http.route, url.path,
// url.scheme, server.address and server.port (of the Host the client
// asked for). It names neither the query nor the client.
func HTTPServer(r *http.Request, route string) []attribute.KeyValue {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	attrs := []attribute.KeyValue{
		methodAttr(r.Method),
		semconv.HTTPRoute(route),
		semconv.URLPath(r.URL.Path),
		semconv.URLScheme(scheme),
	}
	return append(attrs, hostPort(r.Host, scheme)...)
}

// HTTPClient returns the attributes of the client span of a request with
// method to u: http.request.method, url.full (without user information,
// every query value replaced, see redact.URL), server.address and
// server.port.
func HTTPClient(method string, u *url.URL) []attribute.KeyValue {
	attrs := []attribute.KeyValue{methodAttr(method), semconv.URLFull(redact.URL(u.String()))}
	return append(attrs, hostPort(u.Host, u.Scheme)...)
}

// methodAttr returns the http.request.method of m: one of the semantic
// conventions' methods, else _OTHER (a method is free text).
func methodAttr(m string) attribute.KeyValue {
	switch m {
	case http.MethodConnect, http.MethodDelete, http.MethodGet, http.MethodHead, http.MethodOptions,
		http.MethodPatch, http.MethodPost, http.MethodPut, http.MethodTrace:
		return AttrHTTPMethod.String(m)
	}
	return semconv.HTTPRequestMethodOther
}

// hostPort returns server.address and server.port of host ("name" or
// "name:port"), the port the scheme's default when host has none.
func hostPort(host, scheme string) []attribute.KeyValue {
	name, p, err := net.SplitHostPort(host)
	if err != nil {
		name, p = host, ""
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		switch scheme {
		case "https":
			port = 443
		case "http":
			port = 80
		}
	}
	if name == "" {
		return nil
	}
	attrs := []attribute.KeyValue{semconv.ServerAddress(name)}
	if port > 0 {
		attrs = append(attrs, semconv.ServerPort(port))
	}
	return attrs
}

// HTTPStatus records the response status of an HTTP span:
// http.response.status_code and, when failed, error.type the status code
// and the span's Error status with description. Which statuses fail is
// the caller's: 5xx for a server, 4xx and 5xx for a client by the
// semantic conventions.
func HTTPStatus(span trace.Span, status int, failed bool, description string) {
	span.SetAttributes(AttrHTTPStatus.Int(status))
	if failed {
		Fail(span, strconv.Itoa(status), description)
	}
}

// Fail marks span as failed: error.type errorType, a low-cardinality
// identifier (an HTTP status code, a problem's reason, ErrorType of an
// error, or ErrorOther), and the Error status with description. Neither
// may hold personal data.
func Fail(span trace.Span, errorType, description string) {
	span.SetAttributes(AttrErrorType.String(errorType))
	span.SetStatus(codes.Error, description)
}

// ErrorOther is the error.type of a failure without a better name.
var ErrorOther = semconv.ErrorTypeOther.Value.AsString()

// ErrorType returns the error.type of err by the semantic conventions: its
// ErrorType method's, else the name of its type ("*net.OpError"), never
// its text.
func ErrorType(err error) string { return semconv.ErrorType(err).Value.AsString() }
