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
// (Config.TracerProvider, see package telemetry), each event gets a
// "gateway.ingest" span, the child of that trace context or the root of a
// new trace, and its extensions name that span.
package gateway
