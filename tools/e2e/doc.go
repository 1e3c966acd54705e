// Package e2e holds the end-to-end tests of ketenbus as a whole.
//
// In one process, the gateway, the router and the adapter run together
// against the real nats-server, and every partner endpoint is a real HTTP
// server running the partner SDK's receiver (events/partner), which
// verifies each request's Standard Webhooks signature before its handler
// sees the event (package e2e_test):
//
//   - e2e_test.go: signalen, an aanmelding and a bevestiging posted to the
//     gateway reach exactly the partners that subscribed, each in the shape
//     its subscription allows (fields, CESQL filter, ontvanger), with the
//     pseudonym as subject and the EVENTS sequence set; a NATS-native
//     partner consumes its deliveries with partner.Consume; no log line of
//     any service holds a BSN, a token or a webhook secret; one event id
//     from two sources, and one event for two subscriptions of one partner,
//     are separate deliveries with their own webhook-id, each handled once
//     by a receiver with an idempotency store; a retry, a replay and a DLQ
//     retry of a delivery carry its webhook-id.
//   - crash_test.go: router and adapter stopped in the middle of a stream of
//     10,000 events and started again, and the adapter alone stopped while
//     slow partners hold requests in flight; every partner receives every
//     event, and a duplicate carries the same webhook-id, its delivery id.
//   - audit_test.go: the services that write the processing log besides
//     the adapter: the router for NATS-native partners, the escalator and
//     samenloop for the events they produce, each record once, with the
//     audit retention as its TTL.
//   - bench_test.go: BenchmarkEndToEndLatency, gateway to four webhook sinks
//     at a fixed 1,000 events/s, beside raw nats.go JetStream in the same
//     run.
//
// The deployments in deploy/, run as an operator runs them (package e2e):
//
//   - local_test.go: deploy/local/local.sh brings a region up in its
//     production shape (a 3-node NATS cluster, Redis, every service its own
//     process under its own NATS user) with a region config that points a
//     webhook partner at a real HTTP sink running the partner SDK's
//     receiver; an event posted to the gateway with a token from the
//     script's env file is delivered, also after the adapter was killed
//     and started again by name; down stops every process it recorded.
//
// The dashboard against a whole region, over HTTP and in a real Chromium,
// is in tools/e2e/dashboard.
//
// The regions of the tests are fixtures in testdata/. What the tests here,
// in tools/e2e/dashboard and in tools/e2e/natsauth share (a region's
// secrets and config, the services started from their configs, events
// posted to the gateway, a webhook endpoint) is in tools/e2e/e2etest.
//
// The package has no code of its own, only tests.
package e2e
