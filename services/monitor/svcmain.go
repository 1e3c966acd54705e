package monitor

import (
	"context"
	"errors"

	"github.com/ketenbus/ketenbus/services/shared/natsauth"
	"github.com/ketenbus/ketenbus/services/shared/svcmain"
)

// Main describes the monitor to svcmain: the binary ketenbus-monitor runs
// it on its own (svcmain.Exit), ketenbus dev beside the other services
// (svcmain.Start). The dashboard, /healthz and /metrics are on
// --monitor-addr. Who may sign in comes from the region config
// (RegionAuth); with neither a token nor a trusted header the binary
// refuses to start, and only ketenbus dev (Env.Dev) runs it open.
func Main() svcmain.Service {
	return svcmain.Service{
		Name:  natsauth.UserMonitor,
		Redis: svcmain.RedisOptional,
		Listen: &svcmain.Listener{Flag: "monitor-addr", Env: "KETENBUS_MONITOR_ADDR", Default: DefaultAddr,
			Usage: "listen address of the dashboard, /healthz and /metrics"},
		Start: start,
	}
}

// HasSignIn reports whether a names a way to sign in: an operator token
// or a trusted header.
func (a Auth) HasSignIn() bool { return a.Token != "" || a.TrustedHeader != "" }

// start builds the monitor on env.Listener; its runner serves until its
// context ends.
func start(_ context.Context, env *svcmain.Env) (svcmain.Runner, error) {
	auth := RegionAuth(env.Region, env.Secrets)
	if !auth.HasSignIn() {
		if !env.Dev {
			return nil, errors.New(env.ConfigPath + ": the monitor does not start open (only ketenbus dev runs it without sign-in): set monitor.token_env (an operator token) or monitor.trusted_header with monitor.trusted_proxies (a reverse proxy such as oauth2-proxy)")
		}
		auth.Open = true
	}
	ln := env.Listener
	m, err := New(Config{
		Addr:      ln.Addr().String(),
		Region:    env.Region,
		JetStream: env.JetStream,
		Redis:     env.Redis,
		Logger:    env.Logger,
		Metrics:   env.Metrics,
		Auth:      auth,
	})
	if err != nil {
		return nil, err
	}
	if env.Redis == nil {
		env.Logger.Warn("no --redis-url: the dashboard shows no terms and no open samenloop")
	}
	url := "http://" + ln.Addr().String()
	if auth.Open {
		env.Logger.Warn("the monitor asks nobody to sign in (dev only): set monitor.token_env or monitor.trusted_header in the region config to close it", "url", url)
	} else {
		env.Logger.Info("monitor listening", "url", url)
	}
	return svcmain.RunFunc(func(ctx context.Context) error { return m.Serve(ctx, ln) }), nil
}
