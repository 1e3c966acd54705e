package gateway

import (
	"context"

	"github.com/ketenbus/ketenbus/services/shared/httpserve"
	"github.com/ketenbus/ketenbus/services/shared/natsauth"
	"github.com/ketenbus/ketenbus/services/shared/svcmain"
)

// Main describes the gateway to svcmain: the binary ketenbus-gateway runs
// it on its own (svcmain.Exit), ketenbus dev beside the other services
// (svcmain.Start). Partners POST to /v1/events on --addr, which serves
// /healthz and /readyz too; /metrics, which names every partner and its
// volumes, is on --metrics-addr only.
func Main() svcmain.Service {
	return svcmain.Service{
		Name:        natsauth.UserGateway,
		MetricsAddr: "127.0.0.1:9100",
		Listen: &svcmain.Listener{Flag: "addr", Env: "KETENBUS_GATEWAY_ADDR", Default: DefaultAddr,
			Usage: "listen address of the partners: /v1/events, /healthz and /readyz (HTTPS when the region sets gateway.tls)"},
		Start: start,
	}
}

// start builds the gateway on env.Listener; its runner serves until its
// context ends and then closes the gateway.
func start(_ context.Context, env *svcmain.Env) (svcmain.Runner, error) {
	ln := env.Listener
	g, err := New(Config{
		Addr:      ln.Addr().String(),
		Region:    env.Region,
		Secrets:   env.Secrets,
		JetStream: env.JetStream,
		Logger:    env.Logger,
		Metrics:   env.Metrics,
	})
	if err != nil {
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
}
