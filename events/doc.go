// Package events is the ketenbus event catalog in Go, for partner IT teams and
// for ketenbus itself: the data types of every event, builders, validation with
// JSON pointers, the NL GOV profile rules for CloudEvents context attributes,
// the elfproef, the keyed pseudonym and the NATS subject names.
//
// It is also the one reader of an event as ketenbus stored it: Members
// splits a structured event into its members without decoding them (for
// the router, field encryption and the webhook encoder, which rewrite a
// few and copy the rest), Attributes gives its context attributes by the
// same rules ParseStructured applies, and ReadEvent the whole CloudEvent.
//
// The JSON Schemas in the schemas module are the source of truth; the Go types
// here are kept identical to them by a test.
//
// Of the CloudEvents SDK the module imports the package event only, so a
// partner's `go get` brings no HTTP client and no zap; a test holds every
// dependency to an allow-list.
//
// Subpackages: webhook (Standard Webhooks signing and verification) and, for
// receiving deliveries, partner.
package events
