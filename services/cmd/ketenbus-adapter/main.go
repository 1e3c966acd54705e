// Command ketenbus-adapter runs the webhook adapter: it delivers DELIVERY
// to the webhook of every partner (or of the partners of --partners), one
// durable consumer per partner. /metrics, /healthz and /readyz are on
// --metrics-addr. See deploy/services.md for the flags.
package main

import (
	"github.com/ketenbus/ketenbus/services/adapter"
	"github.com/ketenbus/ketenbus/services/shared/svcmain"
)

func main() { svcmain.Exit(service()) }

// service is what the binary runs, described by the adapter package.
func service() svcmain.Service { return adapter.Main() }
