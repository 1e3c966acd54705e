// Command ketenbus-samenloop runs samenloop detection: it keeps an index
// of signalen per person in Redis and stores a samenloop event when
// partners meet on the same person. /metrics, /healthz and /readyz are on
// --metrics-addr. See deploy/services.md for the flags.
package main

import (
	"context"

	"github.com/ketenbus/ketenbus/services/samenloop"
	"github.com/ketenbus/ketenbus/services/shared/natsauth"
	"github.com/ketenbus/ketenbus/services/shared/svcmain"
)

// defaultMetricsAddr is the default of --metrics-addr.
const defaultMetricsAddr = "127.0.0.1:9104"

func main() { svcmain.Exit(service()) }

// service describes the samenloop binary.
func service() svcmain.Service {
	return svcmain.Service{
		Name:        natsauth.UserSamenloop,
		MetricsAddr: defaultMetricsAddr,
		Redis:       svcmain.RedisRequired,
		Start: func(_ context.Context, env *svcmain.Env) (svcmain.Runner, error) {
			s, err := samenloop.New(samenloop.Config{
				Region:    env.Region,
				JetStream: env.JetStream,
				Redis:     env.Redis,
				Logger:    env.Logger,
				Metrics:   env.Metrics,
			})
			if err != nil {
				return nil, err
			}
			return s, nil
		},
	}
}
