// Package dashboard holds the tests of the monitor's dashboard against a
// whole region: nats-server, redis-server, the gateway on a real HTTP
// server, router, adapter, escalator and samenloop, the partners' webhook
// sinks, and the monitor on a real HTTP server, read over HTTP and in a
// real Chromium (browser_test.go; `make screenshots` saves its pictures).
//
// They live here, beside the other whole-system tests, because they wire
// several services together; services/monitor keeps the tests that need
// the monitor alone.
//
// The package has no code of its own, only tests.
package dashboard
