// Command ketenbus-samenloop runs samenloop detection: it keeps an index
// of signalen per person in Redis and stores a samenloop event when
// partners meet on the same person. /metrics, /healthz and /readyz are on
// --metrics-addr. See deploy/services.md for the flags.
package main

import (
	"github.com/ketenbus/ketenbus/services/samenloop"
	"github.com/ketenbus/ketenbus/services/shared/svcmain"
)

func main() { svcmain.Exit(service()) }

// service is what the binary runs, described by the samenloop package.
func service() svcmain.Service { return samenloop.Main() }
