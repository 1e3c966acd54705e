// Package svcmain is what the main of every ketenbus service shares: the
// flags and their environment variables, loading the region config and
// its secrets, the connections to NATS and Redis, the /metrics, /healthz
// and /readyz listener, JSON logs, and a clean stop on SIGINT or SIGTERM.
//
// A main describes its service in a [Service] and hands it to [Main]:
//
//	func main() {
//		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
//		defer stop()
//		os.Exit(svcmain.Main(ctx, service, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
//	}
//
// Main returns 0 after a clean stop (ctx ended), 1 when the service
// cannot start or stops on its own, 2 for wrong flags. A start-up failure
// is one line on stderr that says what to fix; no secret, token or
// password is ever written.
//
// Services never create streams: an operator creates them as the NATS
// admin user before they start (deploy/nats/README.md). A service that
// finds a stream missing stops with an error that says so.
package svcmain
