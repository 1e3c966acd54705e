// Package svcmain is what the main of every ketenbus service shares: the
// flags and their environment variables, loading the region config and
// its secrets, the connections to NATS and Redis, the /metrics, /healthz
// and /readyz listener, JSON logs, and a clean stop on SIGINT or SIGTERM.
//
// Each service describes itself in a [Service] (router.Main, ...): its
// name, its flags, its own listener if any, and how it is built from the
// region config and the connections in an [Env]. Its binary hands that
// value to [Exit]:
//
//	func main() { svcmain.Exit(router.Main()) }
//
// and ketenbus dev hands the same value to [Start], with the connections
// it shares among all services in one process.
//
// [Main] returns 0 after a clean stop (ctx ended), 1 when the service
// cannot start or stops on its own, 2 for wrong flags. A start-up failure
// is one line on stderr that says what to fix; no secret, token or
// password is ever written.
//
// Services never create streams: an operator creates them as the NATS
// admin user before they start (deploy/nats/README.md). A service that
// finds a stream missing stops with an error that says so.
package svcmain
