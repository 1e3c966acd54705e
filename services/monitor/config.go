package monitor

import (
	"errors"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	// The dashboard shows Dutch time wherever the machine runs.
	_ "time/tzdata"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/ketenbus/ketenbus/services/shared/region"
)

// DefaultAddr is where the monitor listens by default.
const DefaultAddr = "127.0.0.1:8090"

// Config configures the monitor.
type Config struct {
	// Addr is the listen address of Run. Default DefaultAddr.
	Addr string
	// Region is the region config: partners, subscriptions, regievoerder.
	Region *region.Config
	// JetStream is where the streams are read.
	JetStream jetstream.JetStream
	// Redis holds the escalator's timers and the samenloop index; without
	// it Termijnen and the open samenloop say they are unavailable.
	Redis redis.UniversalClient
	// Logger gets the monitor's own lines. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Location is the time zone of every time shown and of "today".
	// Default Europe/Amsterdam.
	Location *time.Location
	// Metrics is what /metrics serves. Default a new registry.
	Metrics *prometheus.Registry
	// History is how far back the monitor reads EVENTS and ACTIVITY when
	// it starts. Default 24h.
	History time.Duration
	// Auth says who may see the pages.
	Auth Auth
}

// Auth configures access. At least one of Token, TrustedHeader or Open
// must be set.
type Auth struct {
	// Token is the operator token: a request carries it as
	// "Authorization: Bearer <token>", or logs in with it once and then
	// carries a session cookie.
	Token string
	// TrustedHeader names the header in which a reverse proxy in front of
	// the monitor (oauth2-proxy: X-Forwarded-Email or X-Forwarded-User)
	// passes the operator it authenticated. It is believed only from
	// TrustedProxies.
	TrustedHeader string
	// TrustedProxies are the addresses the proxy connects from.
	TrustedProxies []netip.Prefix
	// Open lets everybody in: for ketenbus dev on localhost only.
	Open bool
}

// RegionAuth returns the access the region config sets: the operator
// token of monitor.token_env (from secrets), or the header of
// monitor.trusted_header believed from monitor.trusted_proxies. Open is
// never set: only ketenbus dev opens the monitor, when neither is set.
func RegionAuth(cfg *region.Config, secrets region.Secrets) Auth {
	return Auth{
		Token:          secrets.MonitorToken,
		TrustedHeader:  cfg.Monitor.TrustedHeader,
		TrustedProxies: cfg.Monitor.Proxies(),
	}
}

func (c *Config) setDefaults() {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Location == nil {
		loc, err := time.LoadLocation("Europe/Amsterdam")
		if err != nil {
			loc = time.UTC
		}
		c.Location = loc
	}
	if c.Metrics == nil {
		c.Metrics = prometheus.NewRegistry()
	}
	if c.History == 0 {
		c.History = 24 * time.Hour
	}
}

// Validate names every missing or contradictory field.
func (c Config) Validate() error {
	var problems []string
	if c.Region == nil {
		problems = append(problems, "Region is missing")
	}
	if c.JetStream == nil {
		problems = append(problems, "JetStream is missing")
	}
	if c.History < 0 {
		problems = append(problems, "History is negative")
	}
	a := c.Auth
	if a.Token == "" && a.TrustedHeader == "" && !a.Open {
		problems = append(problems, "no access is configured: set monitor.token_env (an operator token) or monitor.trusted_header with monitor.trusted_proxies (a reverse proxy such as oauth2-proxy)")
	}
	if a.TrustedHeader != "" && len(a.TrustedProxies) == 0 {
		problems = append(problems, "monitor.trusted_header needs monitor.trusted_proxies: the addresses of the proxy that sets it, or anybody could set it")
	}
	if len(problems) > 0 {
		return errors.New("monitor: " + strings.Join(problems, "; "))
	}
	return nil
}
