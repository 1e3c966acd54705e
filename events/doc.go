// Package events is the ketenbus event catalog in Go, for partner IT teams and
// for ketenbus itself: the data types of every event, builders, validation with
// JSON pointers, the NL GOV profile rules for CloudEvents context attributes,
// the elfproef, the keyed pseudonym and the NATS subject names.
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
