package router

import (
	"context"

	"github.com/ketenbus/ketenbus/services/shared/natsauth"
	"github.com/ketenbus/ketenbus/services/shared/svcmain"
)

// Main describes the router to svcmain: the binary ketenbus-router runs
// it on its own (svcmain.Exit), ketenbus dev beside the other services
// (svcmain.Start). /metrics, /healthz and /readyz are on --metrics-addr.
func Main() svcmain.Service {
	return svcmain.Service{Name: natsauth.UserRouter, MetricsAddr: "127.0.0.1:9101", Start: start}
}

// start builds the router from the region config and connections of env.
func start(_ context.Context, env *svcmain.Env) (svcmain.Runner, error) {
	return svcmain.AsRunner(New(Config{Region: env.Region, JetStream: env.JetStream, Logger: env.Logger, Metrics: env.Metrics}))
}
