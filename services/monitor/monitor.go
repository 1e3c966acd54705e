package monitor

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/activity"
	"github.com/ketenbus/ketenbus/services/shared/dlq"
	"github.com/ketenbus/ketenbus/services/shared/httpserve"
	"github.com/ketenbus/ketenbus/services/shared/samenloopindex"
	"github.com/ketenbus/ketenbus/services/shared/streams"
	"github.com/ketenbus/ketenbus/services/shared/timers"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Monitor serves the dashboard. Create it with New; Run reads the streams,
// Handler serves the pages. It is safe for concurrent use.
type Monitor struct {
	cfg    Config
	logger *slog.Logger
	feed   *feed
	pages  map[string]*template.Template
	mux    *http.ServeMux
	// key signs session cookies and CSRF tokens; new at every start.
	key []byte

	timers    *timers.Store         // nil without Redis
	samenloop *samenloopindex.Index // nil without Redis

	// retired is set by Run.
	retired atomic.Pointer[streams.Retired]

	dlqOnce sync.Mutex
	dlq     *dlq.Store
	// dlqFrom holds per partner where its newest dead letters began at
	// the last look (see dlq.Store.Newest).
	dlqMu   sync.Mutex
	dlqFrom map[string]uint64
}

// New checks cfg and prepares the pages.
func New(cfg Config) (*Monitor, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Monitor{
		cfg:     cfg,
		logger:  cfg.Logger,
		feed:    newFeed(cfg.Location, cfg.Now),
		key:     make([]byte, 32),
		dlqFrom: map[string]uint64{},
	}
	if _, err := rand.Read(m.key); err != nil {
		return nil, fmt.Errorf("monitor: session key: %w", err)
	}
	if cfg.Redis != nil {
		ts, err := timers.New(cfg.Redis, timers.Config{})
		if err != nil {
			return nil, fmt.Errorf("monitor: timers: %w", err)
		}
		ix, err := samenloopindex.New(cfg.Redis, samenloopindex.Config{Window: time.Duration(max(cfg.Region.Samenloop.WindowDays, 1)) * 24 * time.Hour})
		if err != nil {
			return nil, fmt.Errorf("monitor: samenloop index: %w", err)
		}
		m.timers, m.samenloop = ts, ix
	}
	pages, err := parsePages(cfg.Location)
	if err != nil {
		return nil, fmt.Errorf("monitor: templates: %w", err)
	}
	m.pages = pages
	m.routes()
	return m, nil
}

// Run serves the dashboard on cfg.Addr and reads the streams until ctx
// ends; it returns nil then, or an error when it cannot listen.
func Run(ctx context.Context, cfg Config) error {
	m, err := New(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", m.cfg.Addr)
	if err != nil {
		return fmt.Errorf("monitor: listen on %s: %w", m.cfg.Addr, err)
	}
	if err := m.Serve(ctx, ln); err != nil {
		return fmt.Errorf("monitor: %w", err)
	}
	return nil
}

// Serve reads the streams (Run) and serves the dashboard on ln until ctx
// ends, then stops the server letting requests in flight finish.
func (m *Monitor) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { _ = m.Run(ctx) }) // returns nil when ctx ends
	err := httpserve.Serve(ctx, m.Server(), ln)
	cancel()
	wg.Wait()
	return err
}

// Server returns an http.Server for the monitor with timeouts that suit
// pages and long-lived SSE streams.
// Shutdown ends the open Live streams, so it does not wait for them.
func (m *Monitor) Server() *http.Server {
	base, cancel := context.WithCancel(context.Background())
	srv := &http.Server{
		Addr:              m.cfg.Addr,
		Handler:           m,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		BaseContext:       func(net.Listener) context.Context { return base },
	}
	srv.RegisterOnShutdown(cancel)
	return srv
}

// Run reads EVENTS and ACTIVITY from History ago onwards, and then as
// they grow, and watches the retired subscriptions, until ctx ends. It
// returns nil.
func (m *Monitor) Run(ctx context.Context) error {
	m.retired.Store(streams.WatchRetired(ctx, m.cfg.JetStream, m.logger))
	since := m.cfg.Now().Add(-m.cfg.History)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		follow(ctx, m.cfg.JetStream, events.StreamEvents, events.SubjectEventsAll, since, m.logger, m.feed.addEvent)
	}()
	go func() {
		defer wg.Done()
		follow(ctx, m.cfg.JetStream, activity.Stream, activity.SubjectAll, since, m.logger, m.feed.addActivity)
	}()
	wg.Wait()
	return nil
}

// ServeHTTP serves the pages, /healthz and /metrics.
func (m *Monitor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	m.mux.ServeHTTP(w, r)
}

func (m *Monitor) routes() {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.cfg.Metrics, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /login", m.loginPage)
	mux.HandleFunc("POST /login", m.login)
	mux.HandleFunc("POST /logout", m.logout)

	page := func(pattern string, h http.HandlerFunc) { mux.Handle(pattern, m.authorized(h)) }
	page("GET /{$}", m.overview)
	page("GET /fragment/overzicht", m.overview)
	page("GET /live", m.live)
	page("GET /live/stream", m.liveStream)
	page("GET /termijnen", m.termijnen)
	page("GET /partners/{id}", m.partner)
	page("GET /fragment/partners/{id}", m.partner)
	page("GET /partners/{id}/dlq/retry", m.retryConfirm)
	page("POST /partners/{id}/dlq/retry", m.retry)
	m.mux = mux
}

// sign returns an HMAC of parts under the monitor's key.
func (m *Monitor) sign(parts ...string) []byte {
	mac := hmac.New(sha256.New, m.key)
	for _, p := range parts {
		mac.Write([]byte(p))
		mac.Write([]byte{0})
	}
	return mac.Sum(nil)
}

// store returns the DLQ store, opening it on first use.
func (m *Monitor) store(ctx context.Context) (*dlq.Store, error) {
	m.dlqOnce.Lock()
	defer m.dlqOnce.Unlock()
	if m.dlq != nil {
		return m.dlq, nil
	}
	s, err := dlq.Open(ctx, m.cfg.JetStream)
	if err != nil {
		return nil, err
	}
	m.dlq = s
	return s, nil
}

var _ http.Handler = (*Monitor)(nil)
