// Package devstack runs every part of ketenbus in one process, for
// `ketenbus dev` and for end-to-end tests: the real nats-server with
// JetStream embedded, the streams, and the services: gateway, router,
// webhook adapters, escalator, samenloop and the monitor (and, in a demo
// region, a webhook sink per partner).
//
// Start loads the region config, resolves its secrets, starts the parts in
// order and returns a running Stack; Close stops them in reverse order. A
// part that stops on its own is reported on Stack.Failed.
//
// In a demo region (demo: true) the secrets are kept in <DataDir>/demo.env,
// so tokens and the pseudonym key stay the same from one start to the next:
// a pseudonym computed today must still match the same person tomorrow.
//
// The JetStream store (<DataDir>/jetstream) is always encrypted at rest
// (AES-GCM) with the key in KETENBUS_JETSTREAM_KEY ([JetStreamKeyEnv]): in
// a demo region it is generated when missing and kept in demo.env with the
// other secrets, so a restart reads its own data; elsewhere Start refuses
// to run without it.
//
// Each service runs as its binary does: the stack starts the
// svcmain.Service of its package (gateway.Main, router.Main, ...) with
// svcmain.Start, on one NATS connection, one Redis and one Prometheus
// registry for all. A new service slots in as one more entry of services.
package devstack
