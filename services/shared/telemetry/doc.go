// Package telemetry sets up OpenTelemetry tracing for the ketenbus
// services and carries trace context across the hops of an event.
//
// Setup installs a global TracerProvider that exports spans over OTLP only
// when OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is
// set (protocol from OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL: http/protobuf,
// the default, or grpc); otherwise the global provider stays the no-op one
// and tracing costs next to nothing. Each service takes its TracerProvider
// from its Config (default otel.GetTracerProvider()) and asks Tracer for
// its tracer, which is nil when the provider is not Active; a service with
// a nil tracer does no tracing work.
//
// Trace context travels as W3C Trace Context (traceparent, tracestate):
// in an event's CloudEvents distributed-tracing extension attributes
// (ContextFromExtensions, SetExtensions), in the NATS headers of DELIVERY
// messages (SetNATSHeader; read with Extract) and in the HTTP headers
// of requests (ContextFromHTTPHeader, SetHTTPHeader). The spans of one
// event form a chain: the gateway's server span of the request ("POST
// /v1/events"), gateway.ingest (producer, one per event), router.route
// (consumer), adapter.deliver (client, one per attempt).
//
// Span attributes follow the OpenTelemetry semantic conventions (package
// go.opentelemetry.io/otel/semconv): HTTPServer and HTTPClient for the
// HTTP spans (http.request.method, url.full without its query values,
// server.address, http.response.status_code, error.type through
// HTTPStatus and Fail), Publish and Process for the NATS messages
// (messaging.system, messaging.destination.name,
// messaging.operation.type), and the CloudEvents keys for the event
// (type, id, source). The ketenbus.* keys name the partner, the
// subscription and the outcome; none names the subject (the pseudonym),
// a BSN, a data field or a token.
package telemetry
