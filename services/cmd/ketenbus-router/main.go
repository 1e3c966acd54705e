// Command ketenbus-router runs the router: it reads EVENTS with its
// durable consumer and stores a delivery on DELIVERY for every matching
// subscription. /metrics, /healthz and /readyz are on --metrics-addr. See
// deploy/services.md for the flags.
package main

import (
	"context"

	"github.com/ketenbus/ketenbus/services/router"
	"github.com/ketenbus/ketenbus/services/shared/natsauth"
	"github.com/ketenbus/ketenbus/services/shared/svcmain"
)

// defaultMetricsAddr is the default of --metrics-addr.
const defaultMetricsAddr = "127.0.0.1:9101"

func main() { svcmain.Exit(service()) }

// service describes the router binary.
func service() svcmain.Service {
	return svcmain.Service{
		Name:        natsauth.UserRouter,
		MetricsAddr: defaultMetricsAddr,
		Start: func(_ context.Context, env *svcmain.Env) (svcmain.Runner, error) {
			r, err := router.New(router.Config{
				Region:    env.Region,
				JetStream: env.JetStream,
				Logger:    env.Logger,
				Metrics:   env.Metrics,
			})
			if err != nil {
				return nil, err
			}
			return r, nil
		},
	}
}
