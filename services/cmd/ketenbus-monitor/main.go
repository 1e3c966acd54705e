// Command ketenbus-monitor runs the monitor, the operators' dashboard, on
// --monitor-addr, with /healthz and /metrics on the same address. Who may
// sign in comes from the region config (monitor.token_env, or
// monitor.trusted_header with monitor.trusted_proxies); with neither it
// refuses to start: only ketenbus dev runs it open. See deploy/services.md
// for the flags.
package main

import (
	"context"
	"errors"

	"github.com/ketenbus/ketenbus/services/monitor"
	"github.com/ketenbus/ketenbus/services/shared/natsauth"
	"github.com/ketenbus/ketenbus/services/shared/svcmain"
)

func main() { svcmain.Exit(service()) }

// service describes the monitor binary.
func service() svcmain.Service {
	var addr *string
	return svcmain.Service{
		Name:  natsauth.UserMonitor,
		Redis: svcmain.RedisOptional,
		Flags: func(f *svcmain.Flags) {
			addr = f.String("monitor-addr", "KETENBUS_MONITOR_ADDR", monitor.DefaultAddr,
				"listen address of the dashboard, /healthz and /metrics")
		},
		Start: func(_ context.Context, env *svcmain.Env) (svcmain.Runner, error) {
			auth := monitor.RegionAuth(env.Region, env.Secrets)
			if auth.Token == "" && auth.TrustedHeader == "" {
				return nil, errors.New(env.ConfigPath + ": the monitor does not start open (only ketenbus dev runs it without sign-in): set monitor.token_env (an operator token) or monitor.trusted_header with monitor.trusted_proxies (a reverse proxy such as oauth2-proxy)")
			}
			ln, err := svcmain.Listen(*addr, "--monitor-addr", "KETENBUS_MONITOR_ADDR")
			if err != nil {
				return nil, err
			}
			m, err := monitor.New(monitor.Config{
				Addr:      ln.Addr().String(),
				Region:    env.Region,
				JetStream: env.JetStream,
				Redis:     env.Redis,
				Logger:    env.Logger,
				Metrics:   env.Metrics,
				Auth:      auth,
			})
			if err != nil {
				_ = ln.Close()
				return nil, err
			}
			if env.Redis == nil {
				env.Logger.Warn("no --redis-url: the dashboard shows no terms and no open samenloop")
			}
			env.Logger.Info("monitor listening", "url", "http://"+ln.Addr().String())
			return svcmain.RunFunc(func(ctx context.Context) error { return m.Serve(ctx, ln) }), nil
		},
	}
}
