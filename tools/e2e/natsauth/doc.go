// Package natsauth holds the tests that run the services under their own
// NATS users, on a nats-server with the generated authorization of a
// region: the gateway, router, adapter, escalator, samenloop and the
// monitor do their whole job and the server refuses them nothing, while
// each service's user is refused what is not its job.
//
// They live here, beside the other whole-system tests, because they wire
// several services together; services/shared/natsauth keeps the tests of
// the generated authorization itself.
//
// The package has no code of its own, only tests.
package natsauth
