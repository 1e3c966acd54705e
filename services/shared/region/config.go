package region

import (
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ketenbus/ketenbus/events"
)

// Defaults applied by Load and Parse to keys the file leaves out (or sets
// to zero).
const (
	DefaultRatePerSecond         = 100
	DefaultRateBurst             = 1000
	DefaultWebhookMode           = ModeStructured
	DefaultWebhookTimeout        = 10 * time.Second
	DefaultRemindMonthsBefore18  = 6
	DefaultAcceptMonthsBefore18  = 3
	DefaultLiberationDay         = LiberationDayLustrum
	DefaultSamenloopWindowDays   = 730
	DefaultGatewayMaxBodyBytes   = 1 << 20
	DefaultGatewayMaxHeaderBytes = 16 << 10
	DefaultReadHeaderTimeout     = 5 * time.Second
	DefaultReadTimeout           = 30 * time.Second
	DefaultWriteTimeout          = 30 * time.Second
	DefaultIdleTimeout           = 2 * time.Minute
	DefaultMaxTimeAhead          = 24 * time.Hour
	Day                          = 24 * time.Hour
	defaultSourcePrefix          = "urn:nld:kvknr:00000000:systeem:ketenbus-"
	maxSamenloopWindowDays       = 730
	maxMonthsBefore18            = 18 * 12
	maxWorkingDaysOnLadderLevels = 365
	maxTimeAhead                 = 7 * Day
)

// Webhook delivery modes: the CloudEvents HTTP binding's structured mode
// (the whole event as application/cloudevents+json) or binary mode (data as
// the body, attributes as ce- headers).
const (
	ModeStructured = "structured"
	ModeBinary     = "binary"
)

// Values of escalation.liberation_day: Bevrijdingsdag (5 May) is a closure
// day every year, or only in lustrum years (2025, 2030, ...), as in most
// collective agreements.
const (
	LiberationDayEvery   = "every"
	LiberationDayLustrum = "lustrum"
)

// DefaultRetrySchedule is the webhook retry schedule when a webhook sets
// none: ten attempts after the first, spread over about two days.
func DefaultRetrySchedule() []time.Duration {
	return []time.Duration{
		5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute,
		time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
	}
}

// DefaultRetention returns how long events of each kind are kept when the
// region config sets no retention for it, by event name (the type's
// middle part, such as signaal) and "audit" for the processing log:
//
//   - signaal, samenloop: 730 days, the Verwijsindex's two years;
//   - aanmelding, bevestiging, escalatie: 730 days, as long as the signalen
//     they usually follow;
//   - overdracht-jeugd-wmo: 1,825 days: it is sent up to a year before the
//     18th birthday and its handover is followed until well after it;
//   - audit: 1,825 days, five years, how long the Verwijsindex archives.
func DefaultRetention() map[string]time.Duration {
	return map[string]time.Duration{
		"signaal":              730 * Day,
		"aanmelding":           730 * Day,
		"bevestiging":          730 * Day,
		"overdracht-jeugd-wmo": 1825 * Day,
		"escalatie":            730 * Day,
		"samenloop":            730 * Day,
		RetentionAudit:         1825 * Day,
	}
}

// RetentionAudit is the key of the processing log's retention.
const RetentionAudit = "audit"

// DefaultSource returns the source URN of the events ketenbus itself
// produces (escalatie, samenloop) in a region whose config sets no source:
// "urn:nld:kvknr:00000000:systeem:ketenbus-<region>". The KvK number
// 00000000 is a placeholder; a production region sets source to the URN of
// the organisation that runs it.
func DefaultSource(region string) string {
	return defaultSourcePrefix + region
}

// Config is a region config. Load and Parse return it with defaults applied
// and validated. Its methods only read it and are safe for concurrent use as
// long as nobody modifies it.
type Config struct {
	// Region names the region, lowercase [a-z0-9-] (key region).
	Region string `yaml:"region"`
	// Demo marks a demo region: plain-HTTP webhooks are allowed and missing
	// secrets are generated (key demo).
	Demo bool `yaml:"demo"`
	// Source is the source URN of the events ketenbus itself produces
	// (key source, default DefaultSource(Region)).
	Source string `yaml:"source"`
	// PseudonymKeyEnv and EncryptionKeyEnv name the environment variables
	// holding the region's pseudonym key and field encryption key
	// (keys pseudonym_key_env, encryption_key_env).
	PseudonymKeyEnv  string `yaml:"pseudonym_key_env"`
	EncryptionKeyEnv string `yaml:"encryption_key_env"`
	// ExtensionAttributes are CloudEvents extension attributes of the
	// region's partners that subscription filters may name, besides
	// FilterAttributes (key extension_attributes).
	ExtensionAttributes []string `yaml:"extension_attributes"`
	// Partners are the region's chain partners, in file order.
	Partners []Partner `yaml:"partners"`
	// Escalation configures the escalation ladder and the working-day
	// calendar.
	Escalation Escalation `yaml:"escalation"`
	// Samenloop configures samenloop detection.
	Samenloop Samenloop `yaml:"samenloop"`
	// Gateway configures the HTTP gateway.
	Gateway Gateway `yaml:"gateway"`
	// Monitor configures access to the dashboard (key monitor).
	Monitor Monitor `yaml:"monitor"`
	// Retention is how long events are kept, by event name (signaal,
	// aanmelding, …) and RetentionAudit for the processing log (key
	// retention). Every kind has a value after Load.
	Retention map[string]time.Duration
	// Path is the file the config was read from (the name given to Parse).
	Path string

	// lines maps the path of every key and list item read from the file to
	// its line; bad holds the paths whose value could not be decoded.
	lines map[string]int
	bad   map[string]bool
}

// Partner is one chain partner.
type Partner struct {
	// ID is the partner id, lowercase [a-z0-9-] (it appears in NATS subjects).
	ID string `yaml:"id"`
	// Name is the organisation's display name.
	Name string `yaml:"name"`
	// Sources are the source URNs this partner owns: the gateway accepts an
	// event from the partner only with one of these sources.
	Sources []string `yaml:"sources"`
	// TokenEnv names the environment variable with the partner's bearer
	// token for the gateway.
	TokenEnv string `yaml:"token_env"`
	// TokenSHA256Env, instead of TokenEnv, names the environment variable
	// with the SHA-256 of that token in hex: the gateway then holds no
	// token, only its hash.
	TokenSHA256Env string `yaml:"token_sha256_env"`
	// ClientCert, when set, identifies the partner by the client
	// certificate it presents over mutual TLS (gateway.tls.client_ca_file
	// verifies it). A partner with a ClientCert must present it.
	ClientCert *ClientCert `yaml:"client_cert"`
	// Publishes lists the event types the partner may publish.
	Publishes []string `yaml:"publishes"`
	// RateLimit limits the events per second the gateway accepts from the
	// partner.
	RateLimit RateLimit `yaml:"rate_limit"`
	// Subscriptions say which events the partner receives, and why.
	Subscriptions []Subscription `yaml:"subscriptions"`
	// Delivery says how events reach the partner.
	Delivery Delivery `yaml:"delivery"`
}

// ClientCert matches a verified client certificate: by its subject's
// common name, by its SHA-256 fingerprint (hex), or by both.
type ClientCert struct {
	CommonName string `yaml:"common_name"`
	SHA256     string `yaml:"sha256"`
}

// Fingerprint returns SHA256 in lowercase hex without colons ("" when
// unset).
func (c ClientCert) Fingerprint() string {
	return strings.ToLower(strings.ReplaceAll(c.SHA256, ":", ""))
}

// RateLimit is a token bucket: PerSecond events per second on average,
// bursts of up to Burst events.
type RateLimit struct {
	PerSecond int `yaml:"per_second"`
	Burst     int `yaml:"burst"`
}

// Subscription selects events for a partner, for one declared purpose.
type Subscription struct {
	// Name identifies the subscription within its partner, lowercase
	// [a-z0-9-].
	Name string `yaml:"name"`
	// Types are the event types the subscription receives.
	Types []string `yaml:"types"`
	// Filter is an optional CESQL expression over context attributes, such
	// as "ontvanger = 'politie'". ParseFilter compiles it.
	Filter string `yaml:"filter"`
	// Purpose is the processing activity (verwerkingsactiviteit) the events
	// are received for, a URI (doelbinding).
	Purpose string `yaml:"purpose"`
	// Fields, when not empty, is the allow-list of data fields delivered;
	// every other field is removed.
	Fields []string `yaml:"fields"`
}

// Delivery says how events reach a partner: exactly one of Webhook and NATS
// is set when the partner has subscriptions.
type Delivery struct {
	Webhook *Webhook      `yaml:"webhook"`
	NATS    *NATSDelivery `yaml:"nats"`
}

// Webhook delivers events by HTTP POST (CloudEvents HTTP binding, Standard
// Webhooks signature).
type Webhook struct {
	// URL is the partner's endpoint.
	URL string `yaml:"url"`
	// SecretEnv names the environment variable with the Standard Webhooks
	// secret ("whsec_" + base64).
	SecretEnv string `yaml:"secret_env"`
	// TokenEnv optionally names the environment variable with a bearer
	// token sent to the partner.
	TokenEnv string `yaml:"token_env"`
	// Mode is ModeStructured or ModeBinary.
	Mode string `yaml:"mode"`
	// Handshake enables the CNCF OPTIONS abuse-protection handshake.
	Handshake bool `yaml:"handshake"`
	// Timeout bounds one delivery attempt.
	Timeout time.Duration `yaml:"timeout"`
	// RetrySchedule is the wait before each retry after a failed attempt.
	RetrySchedule []time.Duration `yaml:"retry_schedule"`
}

// NATSDelivery delivers events to a NATS-native partner, which pulls them
// from its own durable consumer.
type NATSDelivery struct{}

// Escalation configures the escalation ladder and the working-day calendar
// response terms are counted in.
type Escalation struct {
	// Ladder holds the levels, numbered from 1.
	Ladder []Level `yaml:"ladder"`
	// JeugdWmo configures the Jeugd→Wmo handover timing.
	JeugdWmo JeugdWmo `yaml:"jeugd_wmo"`
	// GoodFriday makes Goede Vrijdag a closure day.
	GoodFriday bool `yaml:"good_friday"`
	// LiberationDay is LiberationDayEvery or LiberationDayLustrum.
	LiberationDay string `yaml:"liberation_day"`
	// ClosureDays are extra closure dates, formatted 2006-01-02.
	ClosureDays []string `yaml:"closure_days"`
}

// Level is one step of the escalation ladder.
type Level struct {
	// Level is the level number, 1 for the first step.
	Level int `yaml:"level"`
	// AfterWorkingDays is the number of working days after the response
	// term passed at which this level is reached.
	AfterWorkingDays int `yaml:"after_working_days"`
	// To lists the partner ids the escalatie goes to.
	To []string `yaml:"to"`
}

// JeugdWmo sets when, before a youth's 18th birthday, the handover from
// youth care to the Wmo must start: a reminder RemindMonthsBefore18 months
// before, and an accepted overdracht AcceptMonthsBefore18 months before.
type JeugdWmo struct {
	RemindMonthsBefore18 int `yaml:"remind_months_before_18"`
	AcceptMonthsBefore18 int `yaml:"accept_months_before_18"`
}

// Samenloop configures samenloop detection: signals on the same person
// from different partners within WindowDays days make a match, and
// Regievoerder (a partner id) coordinates.
type Samenloop struct {
	WindowDays   int    `yaml:"window_days"`
	Regievoerder string `yaml:"regievoerder"`
}

// Gateway configures the HTTP gateway.
type Gateway struct {
	// MaxBodyBytes is the largest request body accepted.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MaxHeaderBytes is the largest request header accepted.
	MaxHeaderBytes int `yaml:"max_header_bytes"`
	// ReadHeaderTimeout, ReadTimeout, WriteTimeout and IdleTimeout bound
	// reading a request's header, reading the whole request, writing the
	// answer and an idle keep-alive connection: slow clients cannot hold
	// the gateway.
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	ReadTimeout       time.Duration `yaml:"read_timeout"`
	WriteTimeout      time.Duration `yaml:"write_timeout"`
	IdleTimeout       time.Duration `yaml:"idle_timeout"`
	// MaxTimeAhead is how far an event's time may lie ahead of the
	// gateway's clock (key max_time_ahead, default DefaultMaxTimeAhead):
	// time is when the event was logged, so more than clock skew ahead is
	// a mistake. See CheckTime.
	MaxTimeAhead time.Duration `yaml:"max_time_ahead"`
	// TLS, when set, makes the gateway serve HTTPS.
	TLS *GatewayTLS `yaml:"tls"`
}

// Monitor configures who may open the dashboard: operators with the
// token in TokenEnv, or whoever a reverse proxy at TrustedProxies names in
// TrustedHeader (oauth2-proxy: X-Forwarded-Email). With neither, only
// ketenbus dev runs it, open.
type Monitor struct {
	TokenEnv       string   `yaml:"token_env"`
	TrustedHeader  string   `yaml:"trusted_header"`
	TrustedProxies []string `yaml:"trusted_proxies"`
}

// Proxies returns TrustedProxies as prefixes; a single address becomes a
// prefix of its own. Entries that do not parse (Load reports them) are
// left out.
func (m Monitor) Proxies() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range m.TrustedProxies {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
		} else if a, err := netip.ParseAddr(s); err == nil {
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	return out
}

// GatewayTLS configures HTTPS on the gateway: a certificate and key
// (PEM files), and optionally the CA that client certificates must chain
// to (mutual TLS; partners with a client_cert are then identified by it).
type GatewayTLS struct {
	CertFile     string `yaml:"cert_file"`
	KeyFile      string `yaml:"key_file"`
	ClientCAFile string `yaml:"client_ca_file"`
}

// Load reads, decodes and validates the region config file at path. When
// the file has mistakes the error is a *ProblemsError listing all of them;
// when it cannot be read, the error wraps the os error.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read region config: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes and validates a region config read from the file called
// name. Unknown keys, values of the wrong kind and every validation rule
// are checked; the error is a *ProblemsError listing every problem found.
func Parse(name string, data []byte) (*Config, error) {
	c, problems, fatal := decode(data)
	c.Path = name
	if !fatal {
		c.setDefaults()
		problems = append(problems, c.validate()...)
	}
	if len(problems) > 0 {
		return nil, newProblemsError(name, problems)
	}
	return c, nil
}

// Partner returns the partner with the given id.
func (c *Config) Partner(id string) (*Partner, bool) {
	for i := range c.Partners {
		if c.Partners[i].ID == id {
			return &c.Partners[i], true
		}
	}
	return nil, false
}

// PartnerBySource returns the partner that owns the given source URN.
func (c *Config) PartnerBySource(source string) (*Partner, bool) {
	for i := range c.Partners {
		if slices.Contains(c.Partners[i].Sources, source) {
			return &c.Partners[i], true
		}
	}
	return nil, false
}

// setDefaults fills in every key the file left out or set to zero.
func (c *Config) setDefaults() {
	if c.Source == "" && c.Region != "" {
		c.Source = DefaultSource(c.Region)
	}
	for i := range c.Partners {
		p := &c.Partners[i]
		if p.RateLimit.PerSecond == 0 {
			p.RateLimit.PerSecond = DefaultRatePerSecond
		}
		if p.RateLimit.Burst == 0 {
			p.RateLimit.Burst = DefaultRateBurst
		}
		if w := p.Delivery.Webhook; w != nil {
			if w.Mode == "" {
				w.Mode = DefaultWebhookMode
			}
			if w.Timeout == 0 {
				w.Timeout = DefaultWebhookTimeout
			}
			if w.RetrySchedule == nil {
				w.RetrySchedule = DefaultRetrySchedule()
			}
		}
	}
	if c.Escalation.JeugdWmo.RemindMonthsBefore18 == 0 {
		c.Escalation.JeugdWmo.RemindMonthsBefore18 = DefaultRemindMonthsBefore18
	}
	if c.Escalation.JeugdWmo.AcceptMonthsBefore18 == 0 {
		c.Escalation.JeugdWmo.AcceptMonthsBefore18 = DefaultAcceptMonthsBefore18
	}
	if c.Escalation.LiberationDay == "" {
		c.Escalation.LiberationDay = DefaultLiberationDay
	}
	if c.Samenloop.WindowDays == 0 {
		c.Samenloop.WindowDays = DefaultSamenloopWindowDays
	}
	g := &c.Gateway
	if g.MaxBodyBytes == 0 {
		g.MaxBodyBytes = DefaultGatewayMaxBodyBytes
	}
	if g.MaxHeaderBytes == 0 {
		g.MaxHeaderBytes = DefaultGatewayMaxHeaderBytes
	}
	for _, d := range []struct {
		dst *time.Duration
		def time.Duration
	}{{&g.ReadHeaderTimeout, DefaultReadHeaderTimeout}, {&g.ReadTimeout, DefaultReadTimeout}, {&g.WriteTimeout, DefaultWriteTimeout}, {&g.IdleTimeout, DefaultIdleTimeout}, {&g.MaxTimeAhead, DefaultMaxTimeAhead}} {
		if *d.dst == 0 {
			*d.dst = d.def
		}
	}
	if c.Retention == nil {
		c.Retention = map[string]time.Duration{}
	}
	for k, d := range DefaultRetention() {
		if c.Retention[k] == 0 {
			c.Retention[k] = d
		}
	}
}

// RetentionOf returns how long events of type t are kept in EVENTS,
// DELIVERY and the DLQ; for a type outside the catalog, the longest
// retention of any kind.
func (c *Config) RetentionOf(t string) time.Duration {
	if event, _, ok := events.SplitType(t); ok {
		if d, ok := c.Retention[event]; ok {
			return d
		}
	}
	var longest time.Duration
	for k, d := range c.Retention {
		if k != RetentionAudit {
			longest = max(longest, d)
		}
	}
	return longest
}

// CheckTime says what is wrong with an event's time t, received at now,
// or returns "": t may lie at most ahead after now (time is when the
// event was logged; ahead allows for clock skew) and, when retention is
// not zero, at most retention before it (the event type's retention: an
// older event would already have been removed). A zero ahead is
// DefaultMaxTimeAhead. The gateway refuses such an event at /time.
func CheckTime(t, now time.Time, ahead, retention time.Duration) string {
	if ahead <= 0 {
		ahead = DefaultMaxTimeAhead
	}
	switch {
	case t.After(now.Add(ahead)):
		return fmt.Sprintf("time %s is more than %s ahead of the gateway's clock; time is when the event was logged, not a due date", t.Format(time.RFC3339), Days(ahead))
	case retention > 0 && t.Before(now.Add(-retention)):
		return fmt.Sprintf("time %s is more than %s ago, longer than events of this type are kept; send the moment the event was logged", t.Format(time.RFC3339), Days(retention))
	}
	return ""
}

// Days describes d for people: "1 day", "730 days", or as
// time.Duration.String when it is not a whole number of days.
func Days(d time.Duration) string {
	switch {
	case d == Day:
		return "1 day"
	case d > 0 && d%Day == 0:
		return fmt.Sprintf("%d days", d/Day)
	}
	return d.String()
}
