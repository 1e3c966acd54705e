// Package natsauthtest starts a nats-server in-process with the generated
// authorization of a region and connects as its users, recording every
// permissions violation the server reports, so a test can assert what a
// user may and may not do. The natsauth tests and the whole-system tests
// in tools/e2e share it.
package natsauthtest
