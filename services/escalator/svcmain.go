package escalator

import (
	"github.com/ketenbus/ketenbus/services/shared/natsauth"
	"github.com/ketenbus/ketenbus/services/shared/projector"
	"github.com/ketenbus/ketenbus/services/shared/svcmain"
)

// Main describes the escalator to svcmain: the binary ketenbus-escalator
// runs it on its own (svcmain.Exit), ketenbus dev beside the other
// services (svcmain.Start). Its timers are in Redis; /metrics, /healthz
// and /readyz are on --metrics-addr.
func Main() svcmain.Service {
	return projector.Main(natsauth.UserEscalator, "127.0.0.1:9103", func(c projector.ServiceConfig) (*Escalator, error) {
		return New(Config{ServiceConfig: c})
	})
}
