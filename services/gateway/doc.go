// Package gateway is the ingest gateway of ketenbus: partners POST
// CloudEvents (binary, structured or batch mode of the HTTP binding) to
// /v1/events; the gateway authenticates the partner (bearer token, or its
// SHA-256, and/or a CA-verified client certificate over mutual TLS),
// authorises source and type, validates the event against the catalog,
// replaces the BSN by the keyed pseudonym in subject, seals the sensitive
// data fields (package fieldcrypt), sets the ontvanger attribute and the
// retention TTL, and answers 202 only after JetStream stored the event.
// Every refusal is an RFC 9457 problem with JSON pointers. Header size and
// timeouts against slow clients come from the region's gateway settings.
//
// Every stored event carries the W3C traceparent (and tracestate)
// extension attributes: its own when valid, else the request's W3C
// traceparent header; an invalid traceparent is dropped. When tracing
// (Config.TracerProvider, see package telemetry), each request to
// /v1/events gets a server span ("POST /v1/events"), the child of its
// traceparent header or the root of a new trace, and each of its events a
// "gateway.ingest" producer span: the child of the server span, or of the
// event's own valid traceparent (linked to the server span), so a trace
// the partner began goes on. The event's extensions name its span.
package gateway
