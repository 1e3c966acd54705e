// Command ketenbus-router runs the router: it reads EVENTS with its
// durable consumer and stores a delivery on DELIVERY for every matching
// subscription. /metrics, /healthz and /readyz are on --metrics-addr. See
// deploy/services.md for the flags.
package main

import (
	"github.com/ketenbus/ketenbus/services/router"
	"github.com/ketenbus/ketenbus/services/shared/svcmain"
)

func main() { svcmain.Exit(service()) }

// service is what the binary runs, described by the router package.
func service() svcmain.Service { return router.Main() }
