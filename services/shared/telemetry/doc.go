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
// event form a chain: gateway.ingest (server), router.route (consumer),
// adapter.deliver (client, one per attempt). Span attributes name the
// event (type, id, source), the partner and the subscription; never the
// subject (the pseudonym), a BSN, a data field or a token.
package telemetry
