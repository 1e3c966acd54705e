package adapter

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"

	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/webhookout"
)

// Defaults of Config.
const (
	DefaultMaxAckPending   = 256
	DefaultBreakerFailures = 5
	DefaultBreakerCooldown = 30 * time.Second
	DefaultHandshakeRetry  = 5 * time.Second
	// maxHandshakeRetry caps the doubling wait between handshakes.
	maxHandshakeRetry = 5 * time.Minute
	// ackWaitMargin is added to the webhook timeout to get the consumer's
	// AckWait: room for the writes after a request, each bounded by
	// storeTimeout (retirement record, dead letter, processing-log
	// record), and a little more.
	ackWaitMargin = 3*storeTimeout + 5*time.Second
	// storeTimeout bounds one write to JetStream (dead letter, retirement).
	storeTimeout = 10 * time.Second
)

// Config configures the adapter.
type Config struct {
	// Region holds the partners and their webhooks; required.
	Region *region.Config
	// Secrets holds the webhook secrets (required for every partner
	// delivered to) and the optional bearer tokens.
	Secrets region.Secrets
	// JetStream is where DELIVERY is read and DLQ and the ketenbus-retired
	// bucket written; required.
	JetStream jetstream.JetStream
	// Logger; default slog.Default(). Never receives data fields, response
	// bodies, tokens or secrets.
	Logger *slog.Logger
	// Metrics registry; default a new one.
	Metrics *prometheus.Registry
	// Client sends the requests; default webhookout.NewClient, which follows no
	// redirects. Each request is bounded by its webhook's timeout.
	Client *http.Client
	// Now is the clock for webhook timestamps, the breaker and the age of a
	// delivery (compared with the broker's storage time); default time.Now.
	Now func() time.Time
	// Partners, when set, limits the adapter to these partner ids (each must
	// have a webhook); default every partner with a webhook.
	Partners []string
	// MaxAckPending bounds the deliveries in flight per partner, and so the
	// concurrent requests to one endpoint. Default 256.
	MaxAckPending int
	// Breaker configures the circuit breaker of every partner.
	Breaker BreakerConfig
	// Origin is sent as WebHook-Request-Origin in the handshake; default
	// "ketenbus.<region>".
	Origin string
	// HandshakeRetry is the first wait after a refused handshake; it doubles
	// up to five minutes. Default 5s.
	HandshakeRetry time.Duration
	// Replicas of the ketenbus-retired bucket when Run creates it; default 1.
	Replicas int
	// TracerProvider gets a span per delivery attempt ("adapter.deliver"),
	// the child of the router's; its context goes to the webhook in the W3C
	// traceparent and tracestate headers. Default otel.GetTracerProvider().
	// See package telemetry.
	TracerProvider trace.TracerProvider
}

// BreakerConfig configures a circuit breaker.
type BreakerConfig struct {
	// Failures is the number of consecutive failures that opens it;
	// default 5.
	Failures int
	// Cooldown is how long it stays open before one attempt may go
	// through; default 30s.
	Cooldown time.Duration
}

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Metrics == nil {
		c.Metrics = prometheus.NewRegistry()
	}
	if c.Client == nil {
		c.Client = webhookout.NewClient(DefaultMaxAckPending)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.MaxAckPending == 0 {
		c.MaxAckPending = DefaultMaxAckPending
	}
	if c.Breaker.Failures == 0 {
		c.Breaker.Failures = DefaultBreakerFailures
	}
	if c.Breaker.Cooldown == 0 {
		c.Breaker.Cooldown = DefaultBreakerCooldown
	}
	if c.Origin == "" && c.Region != nil {
		c.Origin = "ketenbus." + c.Region.Region
	}
	if c.HandshakeRetry == 0 {
		c.HandshakeRetry = DefaultHandshakeRetry
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.TracerProvider == nil {
		c.TracerProvider = otel.GetTracerProvider()
	}
}

// Validate reports a config the adapter cannot run with: missing parts,
// impossible limits, and partners without a webhook or its secret. The
// texts name the field, never a secret.
func (c Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf("adapter: "+format, args...)) }
	if c.JetStream == nil {
		add("JetStream is missing")
	}
	if c.MaxAckPending < 1 {
		add("MaxAckPending must be at least 1")
	}
	if c.Breaker.Failures < 1 {
		add("Breaker.Failures must be at least 1")
	}
	if c.Breaker.Cooldown <= 0 {
		add("Breaker.Cooldown must be positive")
	}
	if c.HandshakeRetry <= 0 {
		add("HandshakeRetry must be positive")
	}
	if c.Region == nil {
		add("Region is missing")
		return errors.Join(errs...)
	}
	for _, id := range c.Partners {
		p, ok := c.Region.Partner(id)
		switch {
		case !ok:
			add("partner %s is not in the region", id)
		case p.Delivery.Webhook == nil:
			add("partner %s has no delivery.webhook", id)
		}
	}
	for _, p := range c.webhookPartners() {
		w := p.Delivery.Webhook
		if w.URL == "" {
			add("partner %s: delivery.webhook.url is missing", p.ID)
		}
		if c.Secrets.WebhookSecrets[p.ID] == "" {
			add("partner %s: delivery.webhook.secret_env has no secret", p.ID)
		}
		if w.TokenEnv != "" && c.Secrets.WebhookTokens[p.ID] == "" {
			add("partner %s: delivery.webhook.token_env has no token", p.ID)
		}
		if w.Mode != "" && w.Mode != region.ModeStructured && w.Mode != region.ModeBinary {
			add("partner %s: delivery.webhook.mode %q is not structured or binary", p.ID, w.Mode)
		}
		if w.Timeout < 0 {
			add("partner %s: delivery.webhook.timeout is negative", p.ID)
		}
		if w.RetrySchedule != nil && len(w.RetrySchedule) == 0 {
			add("partner %s: delivery.webhook.retry_schedule is empty", p.ID)
		}
		for i, d := range w.RetrySchedule {
			if d <= 0 {
				add("partner %s: delivery.webhook.retry_schedule[%d] is not positive", p.ID, i)
			}
		}
		if len(c.Secrets.EncryptionKeys) == 0 {
			for _, s := range p.Subscriptions {
				for _, f := range s.Fields {
					if region.SensitiveField(s.Types, f) {
						add("partner %s: subscription %s lists the sensitive field %s, but Secrets has no EncryptionKeys to decrypt it", p.ID, s.Name, f)
					}
				}
			}
		}
	}
	return errors.Join(errs...)
}

// webhookPartners returns the partners the adapter delivers to.
func (c Config) webhookPartners() []*region.Partner {
	var out []*region.Partner
	for i := range c.Region.Partners {
		p := &c.Region.Partners[i]
		if p.Delivery.Webhook == nil {
			continue
		}
		if len(c.Partners) > 0 && !slices.Contains(c.Partners, p.ID) {
			continue
		}
		out = append(out, p)
	}
	return out
}

// webhookWithDefaults returns a copy of w with the region's defaults filled in, for a
// config that was built without region.Parse.
func webhookWithDefaults(w region.Webhook) region.Webhook {
	if w.Mode == "" {
		w.Mode = region.DefaultWebhookMode
	}
	if w.Timeout == 0 {
		w.Timeout = region.DefaultWebhookTimeout
	}
	if w.RetrySchedule == nil {
		w.RetrySchedule = region.DefaultRetrySchedule()
	}
	return w
}
