package svcmain

import (
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metricsServer serves the service's registry on /metrics, liveness on
// /healthz (200 while the process serves) and readiness on /readyz (200
// while NATS is connected and the runner, when it is a Readier, is ready;
// 503 saying why otherwise).
func metricsServer(env *Env, runner Runner) *http.Server {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(env.Metrics, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(env.Logger.Handler(), slog.LevelWarn),
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if s := env.NATS.Status(); s != nats.CONNECTED {
			http.Error(w, "NATS is "+s.String(), http.StatusServiceUnavailable)
			return
		}
		if r, ok := runner.(Readier); ok && !r.Ready() {
			http.Error(w, "not ready: Redis did not answer", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok\n")
	})
	return &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(env.Logger.Handler(), slog.LevelWarn),
	}
}
