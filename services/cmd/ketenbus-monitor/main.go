// Command ketenbus-monitor runs the monitor, the operators' dashboard, on
// --monitor-addr, with /healthz and /metrics on the same address. Who may
// sign in comes from the region config (monitor.token_env, or
// monitor.trusted_header with monitor.trusted_proxies); with neither it
// refuses to start: only ketenbus dev runs it open. See deploy/services.md
// for the flags.
package main

import (
	"github.com/ketenbus/ketenbus/services/monitor"
	"github.com/ketenbus/ketenbus/services/shared/svcmain"
)

func main() { svcmain.Exit(service()) }

// service is what the binary runs, described by the monitor package.
func service() svcmain.Service { return monitor.Main() }
