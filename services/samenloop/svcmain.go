package samenloop

import (
	"github.com/ketenbus/ketenbus/services/shared/natsauth"
	"github.com/ketenbus/ketenbus/services/shared/projector"
	"github.com/ketenbus/ketenbus/services/shared/svcmain"
)

// Main describes samenloop detection to svcmain: the binary
// ketenbus-samenloop runs it on its own (svcmain.Exit), ketenbus dev
// beside the other services (svcmain.Start). Its index is in Redis;
// /metrics, /healthz and /readyz are on --metrics-addr.
func Main() svcmain.Service {
	return projector.Main(natsauth.UserSamenloop, "127.0.0.1:9104", func(c projector.ServiceConfig) (*Service, error) {
		return New(Config{ServiceConfig: c})
	})
}
