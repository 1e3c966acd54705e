// Command ketenbus-gateway runs the gateway: partners POST CloudEvents to
// /v1/events on --addr, which answers 202 once JetStream stored them, and
// serves /healthz and /readyz there for probes. /metrics, which names
// every partner and its volumes, is on --metrics-addr only, with its own
// /healthz and /readyz, as for every service. See deploy/services.md for
// the flags.
package main

import (
	"github.com/ketenbus/ketenbus/services/gateway"
	"github.com/ketenbus/ketenbus/services/shared/svcmain"
)

func main() { svcmain.Exit(service()) }

// service is what the binary runs, described by the gateway package.
func service() svcmain.Service { return gateway.Main() }
