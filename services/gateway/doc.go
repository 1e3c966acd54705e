// Package gateway is the ingest gateway of ketenbus: partners POST
// CloudEvents (binary, structured or batch mode of the HTTP binding) to
// /v1/events; the gateway authenticates the partner by bearer token,
// authorises source and type, validates the event against the catalog,
// replaces the BSN by the keyed pseudonym in subject, sets the ontvanger
// attribute, and answers 202 only after JetStream stored the event.
// Every refusal is an RFC 9457 problem with JSON pointers.
package gateway
