// Command ketenbus-escalator runs the escalation timer: it watches the
// response term of every aanmelding and overdracht, keeps the timers in
// Redis and stores an escalatie when a term passes. /metrics, /healthz
// and /readyz are on --metrics-addr. See deploy/services.md for the flags.
package main

import (
	"context"

	"github.com/ketenbus/ketenbus/services/escalator"
	"github.com/ketenbus/ketenbus/services/shared/natsauth"
	"github.com/ketenbus/ketenbus/services/shared/svcmain"
)

// defaultMetricsAddr is the default of --metrics-addr.
const defaultMetricsAddr = "127.0.0.1:9103"

func main() { svcmain.Exit(service()) }

// service describes the escalator binary.
func service() svcmain.Service {
	return svcmain.Service{
		Name:        natsauth.UserEscalator,
		MetricsAddr: defaultMetricsAddr,
		Redis:       svcmain.RedisRequired,
		Start: func(_ context.Context, env *svcmain.Env) (svcmain.Runner, error) {
			e, err := escalator.New(escalator.Config{
				Region:    env.Region,
				JetStream: env.JetStream,
				Redis:     env.Redis,
				Logger:    env.Logger,
				Metrics:   env.Metrics,
			})
			if err != nil {
				return nil, err
			}
			return e, nil
		},
	}
}
