// Command ketenbus-escalator runs the escalation timer: it watches the
// response term of every aanmelding and overdracht, keeps the timers in
// Redis and stores an escalatie when a term passes. /metrics, /healthz
// and /readyz are on --metrics-addr. See deploy/services.md for the flags.
package main

import (
	"github.com/ketenbus/ketenbus/services/escalator"
	"github.com/ketenbus/ketenbus/services/shared/svcmain"
)

func main() { svcmain.Exit(service()) }

// service is what the binary runs, described by the escalator package.
func service() svcmain.Service { return escalator.Main() }
