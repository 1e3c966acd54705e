// ketenbus partners: check a region config, list its partners, probe a
// partner's webhook.

package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ketenbus/ketenbus/events/partner"
	"github.com/ketenbus/ketenbus/events/webhook"
	"github.com/ketenbus/ketenbus/services/shared/redact"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/webhookout"
)

func newPartnersCmd() *cobra.Command {
	return newGroupCmd("partners", "Check the region config, list its partners, probe a partner's webhook",
		newPartnersCheckCmd(), newPartnersListCmd(), newPartnersProbeCmd())
}

// loadPartnersRegion loads the region config for list and probe; a config with
// mistakes is exit 2, pointing at partners check.
func loadPartnersRegion(file string) (*region.Config, error) {
	reg, err := region.Load(file)
	if err == nil {
		return reg, nil
	}
	var pe *region.ProblemsError
	if errors.As(err, &pe) {
		return nil, &exitError{code: 2, err: fmt.Errorf("the region config has %d mistakes; see them with: ketenbus partners check %s", len(pe.Problems), file)}
	}
	return nil, &exitError{code: 2, err: err}
}

// checkProblem is one problem of partners check --json.
type checkProblem struct {
	File string `json:"file"`
	Line int    `json:"line,omitempty"`
	Path string `json:"path,omitempty"`
	// Check is "config" for a mistake in the file, "env" for an
	// environment variable it names that is missing or malformed.
	Check   string `json:"check"`
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"`
}

// String formats p as "FILE:LINE: path: message (hint: …)".
func (p checkProblem) String() string {
	prefix := p.File
	if p.Line > 0 {
		prefix += ":" + strconv.Itoa(p.Line)
	}
	return prefix + ": " + region.Problem{Path: p.Path, Message: p.Message, Hint: p.Hint}.String()
}

func checkProblemsOf(file, check string, err error) ([]checkProblem, bool) {
	var pe *region.ProblemsError
	if !errors.As(err, &pe) {
		return nil, false
	}
	out := make([]checkProblem, len(pe.Problems))
	for i, p := range pe.Problems {
		out[i] = checkProblem{File: file, Line: p.Line, Path: p.Path, Check: check, Message: p.Message, Hint: p.Hint}
	}
	return out, true
}

func newPartnersCheckCmd() *cobra.Command {
	var asJSON, noEnv bool
	cmd := &cobra.Command{
		Use:   "check FILE|-",
		Short: "Explain every mistake in a region config, with its line",
		Long: `Check reads a region config ("-": standard input) and prints every mistake,
one per line, as FILE:LINE: key: message (hint: how to put it right). Then it
checks that every environment variable the config names (keys, tokens,
webhook secrets) is set here and well-formed, unless --no-env is given: run
it where the services run. In a demo region (demo: true) a variable that is
not set is fine: ketenbus dev generates it; check says which.

No value of a variable is ever printed. Exit 0 when the config is ok, 1 when
it has mistakes, 2 when the file cannot be read.`,
		Example: `  # before deploying a change
  ketenbus partners check /etc/ketenbus/region.yaml

  # the file only, not the environment (such as in CI)
  ketenbus partners check --no-env region.yaml

  # the mistakes as JSON lines
  ketenbus partners check --json region.yaml`,
		Args: oneFileArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			file, data, err := readInput(args[0], cmd.InOrStdin())
			if err != nil {
				return &exitError{code: 2, err: fmt.Errorf("%s: %s", file, readErrorText(err))}
			}
			out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
			reg, err := region.Parse(file, data)
			problems, ok := checkProblemsOf(file, "config", err)
			if err != nil && !ok {
				return err
			}
			var notes []string
			switch {
			case reg == nil:
				if !noEnv {
					notes = append(notes, file+": the environment was not checked: fix the mistakes first")
				}
			case noEnv:
				notes = append(notes, file+": the environment was not checked (--no-env)")
			default:
				_, generated, err := reg.ResolveSecrets(os.Getenv)
				envProblems, ok := checkProblemsOf(file, "env", err)
				if err != nil && !ok {
					return err
				}
				problems = append(problems, envProblems...)
				if len(generated) > 0 {
					names := make([]string, 0, len(generated))
					for name := range generated {
						names = append(names, name)
					}
					slices.Sort(names)
					shown := strings.Join(names, ", ")
					if len(names) > 4 {
						shown = strings.Join(names[:3], ", ") + fmt.Sprintf(" and %d more", len(names)-3)
					}
					notes = append(notes, fmt.Sprintf("%s: demo region: %d secret %s not set here (%s); ketenbus dev generates %s, which is fine for a demo",
						file, len(names), plural(len(names), "variable is", "variables are"), shown, plural(len(names), "it", "them")))
				}
			}
			if asJSON {
				if err := writeJSONLines(out, problems); err != nil {
					return err
				}
				for _, n := range notes {
					fmt.Fprintln(errOut, n)
				}
			} else {
				for _, p := range problems {
					fmt.Fprintln(out, p)
				}
				for _, n := range notes {
					fmt.Fprintln(out, n)
				}
				if len(problems) == 0 {
					fmt.Fprintf(out, "%s: ok (%d %s)\n", file, len(reg.Partners), plural(len(reg.Partners), "partner", "partners"))
				}
			}
			if len(problems) > 0 {
				if !asJSON {
					fmt.Fprintf(errOut, "%s: %d %s\n", file, len(problems), plural(len(problems), "mistake", "mistakes"))
				}
				return &exitError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the mistakes as JSON lines")
	cmd.Flags().BoolVar(&noEnv, "no-env", false, "do not check the environment variables the config names")
	return cmd
}

// partnerView is a partner as partners list prints it: no token, no
// secret, no variable holding one.
type partnerView struct {
	ID            string             `json:"id"`
	Name          string             `json:"name"`
	Sources       []string           `json:"sources"`
	Publishes     []string           `json:"publishes"`
	Subscriptions []subscriptionView `json:"subscriptions"`
	Delivery      deliveryView       `json:"delivery"`
}

type subscriptionView struct {
	Name    string   `json:"name"`
	Types   []string `json:"types"`
	Filter  string   `json:"filter,omitempty"`
	Purpose string   `json:"purpose"`
	// Fields is the data allow-list; empty: every field but the
	// sensitive ones, which are delivered only when listed.
	Fields []string `json:"fields,omitempty"`
}

type deliveryView struct {
	Webhook *webhookView `json:"webhook,omitempty"`
	NATS    bool         `json:"nats,omitempty"`
}

type webhookView struct {
	URL       string `json:"url"`
	Mode      string `json:"mode"`
	Handshake bool   `json:"handshake"`
	Token     bool   `json:"bearer_token"`
	Timeout   string `json:"timeout"`
}

func partnerViewOf(p region.Partner) partnerView {
	v := partnerView{ID: p.ID, Name: p.Name, Sources: partnersNonNil(p.Sources), Publishes: partnersNonNil(p.Publishes),
		Subscriptions: []subscriptionView{}}
	for _, s := range p.Subscriptions {
		v.Subscriptions = append(v.Subscriptions, subscriptionView{Name: s.Name, Types: partnersNonNil(s.Types), Filter: s.Filter, Purpose: s.Purpose, Fields: s.Fields})
	}
	if w := p.Delivery.Webhook; w != nil {
		v.Delivery.Webhook = &webhookView{URL: redact.URL(w.URL), Mode: w.Mode, Handshake: w.Handshake, Token: w.TokenEnv != "", Timeout: w.Timeout.String()}
	}
	v.Delivery.NATS = p.Delivery.NATS != nil
	return v
}

func partnersNonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func newPartnersListCmd() *cobra.Command {
	var (
		config string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the partners of the region: what they publish, receive and why",
		Long: `List prints each partner of the region config: its sources, the event types
it publishes, its subscriptions (types, filter, purpose, field allow-list)
and how events reach it. It never prints a token, a secret or the variables
holding them; query values of webhook URLs are redacted.`,
		Example: `  ketenbus partners list --config /etc/ketenbus/region.yaml

  # one JSON line per partner
  ketenbus partners list --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			reg, err := loadPartnersRegion(config)
			if err != nil {
				return err
			}
			views := make([]partnerView, len(reg.Partners))
			for i, p := range reg.Partners {
				views[i] = partnerViewOf(p)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return writeJSONLines(out, views)
			}
			return printPartners(out, views)
		},
	}
	registerConfig(cmd, &config)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON line per partner")
	return cmd
}

func printPartners(w io.Writer, views []partnerView) error {
	join := func(s []string) string {
		if len(s) == 0 {
			return "-"
		}
		return strings.Join(s, ", ")
	}
	for i, v := range views {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s  %s\n", v.ID, v.Name)
		tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
		fmt.Fprintf(tw, "  sources:\t%s\n", join(v.Sources))
		fmt.Fprintf(tw, "  publishes:\t%s\n", join(v.Publishes))
		switch d := v.Delivery; {
		case d.Webhook != nil:
			extra := []string{d.Webhook.Mode, "timeout " + d.Webhook.Timeout}
			if d.Webhook.Handshake {
				extra = append(extra, "handshake")
			}
			if d.Webhook.Token {
				extra = append(extra, "bearer token")
			}
			fmt.Fprintf(tw, "  delivery:\twebhook %s (%s)\n", d.Webhook.URL, strings.Join(extra, ", "))
		case d.NATS:
			fmt.Fprintf(tw, "  delivery:\tnats (pulls from its own consumer)\n")
		default:
			fmt.Fprintf(tw, "  delivery:\t-\n")
		}
		if len(v.Subscriptions) == 0 {
			fmt.Fprintf(tw, "  subscriptions:\t-\n")
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if len(v.Subscriptions) == 0 {
			continue
		}
		fmt.Fprintln(w, "  subscriptions:")
		tw = tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
		for _, s := range v.Subscriptions {
			fields := "all but the sensitive ones (no allow-list)"
			if len(s.Fields) > 0 {
				fields = join(s.Fields)
			}
			fmt.Fprintf(tw, "    %s\ttypes:\t%s\n", s.Name, join(s.Types))
			if s.Filter != "" {
				fmt.Fprintf(tw, "    \tfilter:\t%s\n", s.Filter)
			}
			fmt.Fprintf(tw, "    \tpurpose:\t%s\n", s.Purpose)
			fmt.Fprintf(tw, "    \tfields:\t%s\n", fields)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// probeType is the CloudEvents type of the test event partners probe
// sends: not in the catalog, no personal data.
const probeType = "nl.ketenbus.probe.v1"

// probeExcerpt is how much of a response body the probe shows.
const probeExcerpt = 200

// probeResult is what partners probe found; its --json output.
type probeResult struct {
	Partner   string          `json:"partner"`
	URL       string          `json:"url"`
	Mode      string          `json:"mode"`
	EventID   string          `json:"event_id"`
	Handshake *handshakeCheck `json:"handshake,omitempty"`
	// Sent is false when the handshake failed: the adapter delivers
	// nothing then, and neither does the probe.
	Sent bool `json:"sent"`
	// Status is the HTTP status of the POST, 0 without a response.
	Status    int               `json:"status,omitempty"`
	LatencyMS float64           `json:"latency_ms,omitempty"`
	Headers   map[string]string `json:"headers,omitempty"`
	Body      string            `json:"body,omitempty"`
	Error     string            `json:"error,omitempty"`
	// Accepted is true on 2xx: the partner verified the signature and
	// took the event.
	Accepted bool `json:"accepted"`
	// SignatureRefused is true on 401 and 403.
	SignatureRefused bool `json:"signature_refused"`
	// Verdict says in words what the answer means.
	Verdict string `json:"verdict"`
}

type handshakeCheck struct {
	Origin        string  `json:"origin"`
	Status        int     `json:"status,omitempty"`
	LatencyMS     float64 `json:"latency_ms"`
	AllowedOrigin string  `json:"allowed_origin,omitempty"`
	AllowedRate   string  `json:"allowed_rate,omitempty"`
	OK            bool    `json:"ok"`
	Error         string  `json:"error,omitempty"`
}

// probeHeaders are the response headers the probe reports.
var probeHeaders = []string{"Content-Type", "Content-Length", "Retry-After", "WWW-Authenticate", "Location", "Server", "Date"}

func newPartnersProbeCmd() *cobra.Command {
	var (
		config string
		origin string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "probe PARTNER",
		Short: "Send a signed test event to a partner's webhook and report the answer",
		Long: `Probe sends one test event to the partner's webhook exactly as the adapter
delivers: the CNCF OPTIONS handshake first when the webhook sets handshake:
true, then a POST in the webhook's mode (structured or binary), signed with
the partner's Standard Webhooks secret (webhook-id, webhook-timestamp,
webhook-signature), with its bearer token when token_env is set, following
no redirects, within the webhook's timeout.

The test event has type ` + probeType + `, no personal data, and says in its
data that it is a connectivity test. A receiver built on the partner SDK
(events/partner) verifies it like any delivery and passes it to its handler;
a handler that accepts only catalog types may answer 400, and probe reports
that as the handler's refusal, after a valid signature.

The secrets come from the environment through the region config (the
variables it names), as the adapter reads them; in a demo region source the
demo.env that ketenbus dev wrote. Exit 0 when the partner answers 2xx, else 1.`,
		Example: `  KETENBUS_WEBHOOK_SECRET_GGZ=whsec_... ketenbus partners probe ggz --config /etc/ketenbus/region.yaml

  # after ketenbus dev
  source .ketenbus/demo.env && ketenbus partners probe politie --json`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return &usageError{errors.New("name one PARTNER id")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			reg, err := loadPartnersRegion(config)
			if err != nil {
				return err
			}
			p, ok := reg.Partner(args[0])
			if !ok {
				return &usageError{fmt.Errorf("no partner %q in region %s; the partners are: %s", args[0], reg.Region, strings.Join(partnerIDs(reg), ", "))}
			}
			if p.Delivery.Webhook == nil {
				return &exitError{code: 2, err: fmt.Errorf("partner %s has no webhook (it receives over NATS or not at all): nothing to probe", p.ID)}
			}
			secret, token, err := probeSecrets(reg, p)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			if origin == "" {
				origin = "ketenbus." + reg.Region // the adapter's default Origin
			}
			res := probe(cmd.Context(), reg, p, secret, token, origin)
			out := cmd.OutOrStdout()
			if asJSON {
				if err := writeJSONLines(out, []probeResult{res}); err != nil {
					return err
				}
			} else if err := printProbe(out, res); err != nil {
				return err
			}
			if !res.Accepted {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	registerConfig(cmd, &config)
	cmd.Flags().StringVar(&origin, "origin", "", `WebHook-Request-Origin of the handshake (default "ketenbus.<region>", as the adapter sends)`)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as one JSON line")
	return cmd
}

// probeSecrets reads the partner's webhook secret and bearer token as the
// adapter does, with ResolveSecrets, and only those: the region's keys and
// the other partners' secrets need not be set. A secret a demo region
// would generate is an error: the partner cannot know it.
func probeSecrets(reg *region.Config, p *region.Partner) (secret, token string, err error) {
	only := *reg
	only.Partners = []region.Partner{*p}
	only.Demo = true // generate the region keys and the gateway token we do not need
	secrets, generated, err := only.ResolveSecrets(os.Getenv)
	if err != nil {
		var pe *region.ProblemsError
		if errors.As(err, &pe) {
			var lines []string
			for _, q := range pe.Problems {
				q.Line = 0 // lines of the narrowed config are not the file's
				q.Path = strings.Replace(q.Path, "partners[0]", "partner "+p.ID, 1)
				lines = append(lines, q.String())
			}
			return "", "", fmt.Errorf("the secrets of partner %s cannot be read:\n  %s", p.ID, strings.Join(lines, "\n  "))
		}
		return "", "", err
	}
	w := p.Delivery.Webhook
	demoHint := ""
	if reg.Demo {
		demoHint = " (after ketenbus dev: source the demo.env it wrote)"
	}
	if _, gen := generated[w.SecretEnv]; gen {
		return "", "", fmt.Errorf("environment variable %s (the webhook secret of %s) is not set: set it to the secret the partner verifies with%s", w.SecretEnv, p.ID, demoHint)
	}
	if _, gen := generated[w.TokenEnv]; gen && w.TokenEnv != "" {
		return "", "", fmt.Errorf("environment variable %s (the bearer token for %s's webhook) is not set%s", w.TokenEnv, p.ID, demoHint)
	}
	return secrets.WebhookSecrets[p.ID], secrets.WebhookTokens[p.ID], nil
}

// probe runs the handshake (when the webhook asks for it) and the signed
// POST, and says what came back.
func probe(ctx context.Context, reg *region.Config, p *region.Partner, secret, token, origin string) probeResult {
	w := p.Delivery.Webhook
	res := probeResult{Partner: p.ID, URL: redact.URL(w.URL), Mode: w.Mode}
	client := webhookout.NewClient(0) // as the adapter's: no redirects
	common := http.Header{}
	webhookout.SetCommonHeaders(common, token)

	if w.Handshake {
		hs := &handshakeCheck{Origin: origin}
		res.Handshake = hs
		start := time.Now()
		a, err := webhookout.Handshake(ctx, client, w.URL, origin, common, w.Timeout)
		hs.LatencyMS = probeMillis(time.Since(start))
		hs.Status, hs.AllowedOrigin, hs.AllowedRate = a.Status, a.AllowedOrigin, a.AllowedRate
		if err != nil {
			hs.Error = err.Error()
			res.Verdict = "handshake failed (" + hs.Error + "): the adapter delivers nothing to this partner until it succeeds, so no event was sent"
			return res
		}
		hs.OK = true
	}

	event, err := webhookout.ParseEvent(probeEvent(reg, p))
	if err != nil {
		res.Error = err.Error()
		res.Verdict = "not sent: " + err.Error()
		return res
	}
	res.EventID = event.ID()
	signer, err := webhook.NewSigner(secret)
	if err != nil {
		res.Error = err.Error()
		res.Verdict = "not sent: " + err.Error()
		return res
	}
	// The one sender the adapter delivers with; the event id stands in
	// for the delivery id as webhook-id.
	ans := webhookout.Deliver(ctx, client, event, webhookout.Request{
		URL: w.URL, Mode: w.Mode, ID: res.EventID, Time: time.Now(), Signer: signer, Header: common,
	}, w.Timeout, time.Now)
	if ans.Local != "" {
		res.Error = ans.Local
		res.Verdict = "not sent: " + res.Error
		return res
	}
	res.Sent = true
	res.LatencyMS = probeMillis(ans.Latency)
	if ans.Status == 0 {
		res.Error = ans.Failure
		res.Verdict = "no answer: " + res.Error
		return res
	}
	res.Status = ans.Status
	res.Body = webhookout.Excerpt(ans.Body, probeExcerpt)
	res.Headers = map[string]string{}
	for _, h := range probeHeaders {
		if v := ans.Header.Get(h); v != "" {
			res.Headers[h] = v
		}
	}
	res.Accepted = webhookout.Classify(ans).Action == webhookout.Delivered
	res.SignatureRefused = ans.Status == http.StatusUnauthorized || ans.Status == http.StatusForbidden
	res.Verdict = probeVerdict(ans, token != "")
	return res
}

// probeEvent returns the test event, a structured CloudEvent from the
// region's own source.
func probeEvent(reg *region.Config, p *region.Partner) []byte {
	id := "probe-" + strings.ToLower(rand.Text())
	e := map[string]any{
		"specversion":     "1.0",
		"id":              id,
		"source":          reg.Source,
		"type":            probeType,
		"time":            time.Now().UTC().Format(time.RFC3339),
		"ontvanger":       p.ID,
		"datacontenttype": "application/json",
		"data": map[string]any{
			"test":    true,
			"bericht": "Verbindingstest van ketenbus (ketenbus partners probe): geen persoonsgegevens; dit bericht mag worden genegeerd.",
			"message": "Connectivity test from ketenbus (ketenbus partners probe): no personal data; this event may be discarded.",
		},
	}
	b, _ := json.Marshal(e) // a map of strings and bools
	return b
}

// probeVerdict says what an answer means for a delivery: what the
// partner's receiver said (its problem type, events/partner), or else
// what the adapter would do (webhookout.Classify, the adapter's table).
func probeVerdict(a webhookout.Answer, token bool) string {
	status, prob := a.Status, a.ProblemType()
	out := webhookout.Classify(a)
	switch {
	case out.Action == webhookout.Delivered:
		return "accepted: the partner verified the signature and took the test event"
	case prob == partner.ProblemInvalidSignature:
		return "signature refused (401): the partner's webhook secret differs from the one in the region's environment, or a clock is more than five minutes off"
	case prob == partner.ProblemUnauthorized:
		return "bearer token refused (401): the partner expects another token than the one in the region's environment"
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		what := "the signature"
		if token {
			what = "the signature or the bearer token"
		}
		return fmt.Sprintf("refused (%d): the partner did not accept %s; compare the webhook secret on both sides; a delivery would go to the DLQ at once", status, what)
	case prob == partner.ProblemRejected:
		return "signature accepted, event refused by the partner's handler (400): it may accept only catalog types; real deliveries are unaffected"
	case out.Action == webhookout.Retire:
		return "410 Gone: a delivery would retire the subscription"
	case out.Action == webhookout.Retry:
		return fmt.Sprintf("not accepted (%d): a delivery would be retried later", status)
	case status >= 300 && status <= 399:
		return fmt.Sprintf("redirect (%d): ketenbus follows no redirects; put the final URL in the region config", status)
	default:
		return fmt.Sprintf("not accepted (%d): a delivery would go to the DLQ at once", status)
	}
}

func probeMillis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func printProbe(w io.Writer, r probeResult) error {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	fmt.Fprintf(tw, "partner:\t%s\n", r.Partner)
	fmt.Fprintf(tw, "webhook:\t%s (%s mode)\n", r.URL, r.Mode)
	if hs := r.Handshake; hs != nil {
		switch {
		case hs.OK:
			fmt.Fprintf(tw, "handshake:\tok: %d, %s: %s, in %.1f ms\n", hs.Status, partner.HeaderAllowedOrigin, hs.AllowedOrigin, hs.LatencyMS)
		default:
			fmt.Fprintf(tw, "handshake:\tfailed: %s (origin %s, %.1f ms)\n", hs.Error, hs.Origin, hs.LatencyMS)
		}
	} else {
		fmt.Fprintf(tw, "handshake:\tnot asked (handshake: false)\n")
	}
	if r.Sent {
		fmt.Fprintf(tw, "event:\t%s %s\n", probeType, r.EventID)
		if r.Status != 0 {
			fmt.Fprintf(tw, "status:\t%d %s\n", r.Status, http.StatusText(r.Status))
		} else {
			fmt.Fprintf(tw, "status:\tno response: %s\n", r.Error)
		}
		fmt.Fprintf(tw, "latency:\t%.1f ms\n", r.LatencyMS)
		for _, h := range probeHeaders {
			if v, ok := r.Headers[h]; ok {
				fmt.Fprintf(tw, "%s:\t%s\n", h, v)
			}
		}
		if r.Body != "" {
			fmt.Fprintf(tw, "body:\t%s\n", r.Body)
		}
	}
	fmt.Fprintf(tw, "verdict:\t%s\n", r.Verdict)
	return tw.Flush()
}
