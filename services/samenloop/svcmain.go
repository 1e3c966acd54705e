package samenloop

import (
	"context"

	"github.com/ketenbus/ketenbus/services/shared/natsauth"
	"github.com/ketenbus/ketenbus/services/shared/projector"
	"github.com/ketenbus/ketenbus/services/shared/svcmain"
)

// Main describes samenloop detection to svcmain: the binary
// ketenbus-samenloop runs it on its own (svcmain.Exit), ketenbus dev
// beside the other services (svcmain.Start). Its index is in Redis;
// /metrics, /healthz and /readyz are on --metrics-addr.
func Main() svcmain.Service {
	return svcmain.Service{Name: natsauth.UserSamenloop, MetricsAddr: "127.0.0.1:9104", Redis: svcmain.RedisRequired, Start: start}
}

// start builds samenloop detection from the region config and connections of env.
func start(_ context.Context, env *svcmain.Env) (svcmain.Runner, error) {
	return svcmain.AsRunner(New(Config{ServiceConfig: projector.EnvConfig(env)}))
}
