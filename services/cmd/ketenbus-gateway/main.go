// Command ketenbus-gateway runs the gateway: partners POST CloudEvents to
// /v1/events on --addr, which answers 202 once JetStream stored them, and
// serves /healthz and /readyz there for probes. /metrics, which names
// every partner and its volumes, is on --metrics-addr only, with its own
// /healthz and /readyz, as for every service. See deploy/services.md for
// the flags.
package main

import (
	"context"

	"github.com/ketenbus/ketenbus/services/gateway"
	"github.com/ketenbus/ketenbus/services/shared/httpserve"
	"github.com/ketenbus/ketenbus/services/shared/natsauth"
	"github.com/ketenbus/ketenbus/services/shared/svcmain"
)

// defaultMetricsAddr is the default of --metrics-addr.
const defaultMetricsAddr = "127.0.0.1:9100"

func main() { svcmain.Exit(service()) }

// service describes the gateway binary.
func service() svcmain.Service {
	var addr *string
	return svcmain.Service{
		Name:        natsauth.UserGateway,
		MetricsAddr: defaultMetricsAddr,
		Flags: func(f *svcmain.Flags) {
			addr = f.String("addr", "KETENBUS_GATEWAY_ADDR", gateway.DefaultAddr,
				"listen address of the partners: /v1/events, /healthz and /readyz (HTTPS when the region sets gateway.tls)")
		},
		Start: func(_ context.Context, env *svcmain.Env) (svcmain.Runner, error) {
			ln, err := svcmain.Listen(*addr, "--addr", "KETENBUS_GATEWAY_ADDR")
			if err != nil {
				return nil, err
			}
			g, err := gateway.New(gateway.Config{
				Addr:      ln.Addr().String(),
				Region:    env.Region,
				Secrets:   env.Secrets,
				JetStream: env.JetStream,
				Logger:    env.Logger,
				Metrics:   env.Metrics,
			})
			if err != nil {
				_ = ln.Close()
				return nil, err
			}
			srv := g.Server()
			scheme := "http://"
			if srv.TLSConfig != nil {
				scheme = "https://"
			}
			env.Logger.Info("gateway listening", "url", scheme+ln.Addr().String())
			return svcmain.RunFunc(func(ctx context.Context) error {
				defer g.Close() // after the server stopped
				return httpserve.Serve(ctx, srv, ln)
			}), nil
		},
	}
}
