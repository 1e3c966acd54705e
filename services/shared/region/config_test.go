package region_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/testutil/wanttest"
)

const exampleRegion = "../../../deploy/examples/region.yaml"

func TestExampleRegionLoadsClean(t *testing.T) {
	t.Parallel()
	c, err := region.Load(exampleRegion)
	if err != nil {
		t.Fatalf("Load(%s):\n%v", exampleRegion, err)
	}
	if c.Region != "demo" || !c.Demo {
		t.Errorf("region %q demo %v, want demo region \"demo\"", c.Region, c.Demo)
	}
	wantIDs := []string{"gemeente", "wijkteam", "zvh", "politie", "ggz", "veilig-thuis", "jeugdzorg", "wmo-team", "woningcorporatie"}
	var ids []string
	for _, p := range c.Partners {
		ids = append(ids, p.ID)
	}
	if !slices.Equal(ids, wantIDs) {
		t.Errorf("partners %v, want %v", ids, wantIDs)
	}
	if c.Path != exampleRegion {
		t.Errorf("Path %q, want %q", c.Path, exampleRegion)
	}

	tests := []struct {
		name string
		got  any
		want any
	}{
		{"woningcorporatie pulls over NATS", func() bool {
			p, _ := c.Partner("woningcorporatie")
			return p.Delivery.NATS != nil && p.Delivery.Webhook == nil
		}(), true},
		{"webhooks point at the demo sinks", func() string {
			p, _ := c.Partner("veilig-thuis")
			return p.Delivery.Webhook.URL
		}(), "http://127.0.0.1:8181/veilig-thuis"},
		{"default webhook mode", func() string {
			p, _ := c.Partner("gemeente")
			return p.Delivery.Webhook.Mode
		}(), region.ModeStructured},
		{"default timeout", func() time.Duration {
			p, _ := c.Partner("gemeente")
			return p.Delivery.Webhook.Timeout
		}(), region.DefaultWebhookTimeout},
		{"default retry schedule", func() string {
			p, _ := c.Partner("gemeente")
			return fmt.Sprint(p.Delivery.Webhook.RetrySchedule)
		}(), fmt.Sprint(region.DefaultRetrySchedule())},
		{"default rate limit", func() region.RateLimit {
			p, _ := c.Partner("gemeente")
			return p.RateLimit
		}(), region.RateLimit{PerSecond: 100, Burst: 1000}},
		{"rate limit from the file", func() region.RateLimit {
			p, _ := c.Partner("politie")
			return p.RateLimit
		}(), region.RateLimit{PerSecond: 100, Burst: 2000}},
		{"partner by source", func() string {
			p, ok := c.PartnerBySource("urn:nld:oin:00000009999999990004:systeem:bvh")
			if !ok {
				return ""
			}
			return p.ID
		}(), "politie"},
		{"unknown source", func() bool {
			_, ok := c.PartnerBySource("urn:nld:oin:00000009999999990099:systeem:x")
			return ok
		}(), false},
		{"zvh receives signaal without bsn", func() bool {
			p, _ := c.Partner("zvh")
			for _, s := range p.Subscriptions {
				if slices.Contains(s.Types, "nl.sociaaldomein.signaal.v1") {
					return len(s.Fields) > 0 && !slices.Contains(s.Fields, "bsn")
				}
			}
			return false
		}(), true},
		{"ladder", fmt.Sprint(c.Escalation.Ladder), "[{1 0 [zvh]} {2 3 [gemeente]}]"},
		{"jeugd_wmo", c.Escalation.JeugdWmo, region.JeugdWmo{RemindMonthsBefore18: 6, AcceptMonthsBefore18: 3}},
		{"samenloop", c.Samenloop, region.Samenloop{WindowDays: 730, Regievoerder: "zvh"}},
		{"gateway", c.Gateway.MaxBodyBytes, int64(1 << 20)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if fmt.Sprint(tt.got) != fmt.Sprint(tt.want) {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}

	// Every filter of the example compiles.
	for _, p := range c.Partners {
		for _, s := range p.Subscriptions {
			if s.Filter == "" {
				continue
			}
			if _, err := region.ParseFilter(s.Filter); err != nil {
				t.Errorf("partner %s subscription %s: %v", p.ID, s.Name, err)
			}
		}
	}
}

func TestEveryMistakeReportedOnItsLine(t *testing.T) {
	t.Parallel()
	const file = "testdata/mistakes.yaml"
	_, err := region.Load(file)
	var pe *region.ProblemsError
	if !errors.As(err, &pe) {
		t.Fatalf("Load(%s) = %v, want a *ProblemsError", file, err)
	}
	wants := wanttest.Read(t, file)
	if len(wants) < 40 {
		t.Fatalf("read only %d want markers from %s", len(wants), file)
	}
	matched := make([]bool, len(pe.Problems))
	for _, w := range wants {
		t.Run(fmt.Sprintf("line %d %s", w.Line, w.Path), func(t *testing.T) {
			for i, p := range pe.Problems {
				if p.Line == w.Line && p.Path == w.Path && strings.Contains(p.Message+" (hint: "+p.Hint+")", w.Text) {
					matched[i] = true
					return
				}
			}
			var near []string
			for _, p := range pe.Problems {
				if p.Path == w.Path || p.Line == w.Line {
					near = append(near, p.String())
				}
			}
			t.Errorf("no problem at line %d for %s containing %q; problems on that line or key:\n%s", w.Line, w.Path, w.Text, strings.Join(near, "\n"))
		})
	}
	t.Run("nothing else", func(t *testing.T) {
		for i, p := range pe.Problems {
			if !matched[i] {
				t.Errorf("unexpected problem: %s", p)
			}
		}
	})
	t.Run("error text", func(t *testing.T) {
		first := strings.SplitN(err.Error(), "\n", 2)[0]
		want := `testdata/mistakes.yaml:4: region: "Noord Holland" is not a valid region name (hint: use lowercase letters, digits and '-', at most 63 characters)`
		if first != want {
			t.Errorf("first line of the error:\n got %s\nwant %s", first, want)
		}
		if n := strings.Count(err.Error(), "\n") + 1; n != len(pe.Problems) {
			t.Errorf("error has %d lines for %d problems", n, len(pe.Problems))
		}
	})
}

// minimalRegion is the smallest region config that parses clean.
const minimalRegion = `region: klein
pseudonym_key_env: K_P
encryption_key_env: K_F
partners:
  - id: zvh
    name: ZVH
    sources: ["urn:nld:oin:00000009999999990003"]
    token_env: T_ZVH
escalation:
  ladder: [{level: 1, after_working_days: 0, to: [zvh]}]
samenloop: {regievoerder: zvh}
`

func TestParseReportsStructuralMistakes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		yaml string
		want []string // lines of the error, each as a substring
	}{
		{"minimal region is clean", minimalRegion, nil},
		{"empty file", "", []string{"x.yaml:1: the file is empty"}},
		{"not YAML", "region: [a\n", []string{"x.yaml:", "not valid YAML"}},
		{"not a mapping", "- a\n- b\n", []string{"x.yaml:1: expected a mapping of keys"}},
		{"region missing", strings.Replace(minimalRegion, "region: klein\n", "", 1), []string{"x.yaml:1: region: region is missing"}},
		{"no partners", strings.Split(minimalRegion, "partners:")[0] + "samenloop: {regievoerder: zvh}\n", []string{
			"partners: no partners are configured",
			"escalation.ladder: the escalation ladder is empty",
			`samenloop.regievoerder: "zvh" is not a partner`,
		}},
		{"value of the wrong kind", strings.Replace(minimalRegion, "name: ZVH", "name: [ZVH]", 1), []string{
			"x.yaml:6: partners[0].name: expected a single value, found a list",
		}},
		{"list expected", strings.Replace(minimalRegion, `sources: ["urn:nld:oin:00000009999999990003"]`, `sources: "urn:nld:oin:00000009999999990003"`, 1), []string{
			`x.yaml:7: partners[0].sources: expected a list, found the text "urn:nld:oin:00000009999999990003"`,
		}},
		{"typo far from any key", minimalRegion + "zzzzzzzz: 1\n", []string{"x.yaml:12: zzzzzzzz: unknown key", "known keys here: demo, encryption_key_env"}},
		{"typo in a nested key", strings.Replace(minimalRegion, "token_env: T_ZVH", "tokenenv: T_ZVH", 1), []string{
			`x.yaml:8: partners[0].tokenenv: unknown key "tokenenv" (hint: did you mean "token_env"?)`,
			"x.yaml:5: partners[0].token_env: token_env is missing (hint: name the environment variable that holds the secret, such as KETENBUS_TOKEN_ZVH)",
		}},
		{"nats takes no keys", strings.Replace(minimalRegion, "    token_env: T_ZVH\n", "    token_env: T_ZVH\n    delivery: {nats: {stream: x}}\n", 1), []string{
			"partners[0].delivery.nats.stream: unknown key",
		}},
		{"subscriptions without delivery", strings.Replace(minimalRegion, "    token_env: T_ZVH\n", "    token_env: T_ZVH\n    subscriptions: [{name: s, types: [nl.sociaaldomein.samenloop.v1], purpose: 'urn:x:y'}]\n", 1), []string{
			"x.yaml:5: partners[0].delivery: delivery is missing",
		}},
		{"https to any host, http to localhost outside demo", strings.Replace(minimalRegion, "    token_env: T_ZVH\n", `    token_env: T_ZVH
    delivery: {webhook: {url: "http://localhost:9000/x", secret_env: S}}
  - id: b
    name: B
    sources: ["urn:nld:kvknr:99999999"]
    token_env: T_B
    delivery: {webhook: {url: "https://b.example/x", secret_env: S_B}}
  - id: c
    name: C
    sources: ["urn:nld:kvknr:99999998"]
    token_env: T_C
    delivery: {webhook: {url: "http://[::1]:9000/x", secret_env: S_C}}
`, 1), nil},
		{"monitor behind a proxy", minimalRegion + "monitor: {trusted_header: X-Forwarded-Email, trusted_proxies: [127.0.0.1, 10.0.0.0/24]}\n", nil},
		{"monitor header without proxies", minimalRegion + "monitor: {trusted_header: X-Forwarded-Email}\n", []string{
			"x.yaml:12: monitor.trusted_proxies: trusted_header is set without trusted_proxies",
		}},
		{"monitor proxies without header, one not an address", minimalRegion + "monitor: {trusted_proxies: [10.0.0.0/33]}\n", []string{
			"monitor.trusted_header: trusted_proxies is set without trusted_header",
			`monitor.trusted_proxies[0]: "10.0.0.0/33" is no address or CIDR prefix`,
		}},
		{"ketenbus's own source owned by a partner", "source: urn:nld:oin:00000009999999990003\n" + minimalRegion, []string{
			"x.yaml:1: source: source \"urn:nld:oin:00000009999999990003\" is ketenbus's own but also belongs to a partner (hint: it is also listed at partners[0].sources[0] (line 8))",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := region.Parse("x.yaml", []byte(tt.yaml))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if c.Source != region.DefaultSource(c.Region) {
					t.Errorf("Source %q, want the default %q", c.Source, region.DefaultSource(c.Region))
				}
				return
			}
			if err == nil {
				t.Fatalf("Parse succeeded, want problems %q", tt.want)
			}
			var pe *region.ProblemsError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T, want *ProblemsError", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestValidateConfigBuiltInCode(t *testing.T) {
	t.Parallel()
	c := region.Config{
		Region:           "code",
		PseudonymKeyEnv:  "K_P",
		EncryptionKeyEnv: "K_F",
		Partners: []region.Partner{{
			ID: "zvh", Name: "ZVH", Sources: []string{"urn:nld:kvknr:99999999"}, TokenEnv: "T_ZVH",
			Subscriptions: []region.Subscription{{Name: "s", Types: []string{"nl.sociaaldomein.signaal.v1"}, Purpose: "urn:x:y"}},
			Delivery:      region.Delivery{Webhook: &region.Webhook{URL: "https://zvh.example", SecretEnv: "S"}},
		}},
		Escalation: region.Escalation{Ladder: []region.Level{{Level: 1, To: []string{"zvh"}}}},
		Samenloop:  region.Samenloop{Regievoerder: "zvh"},
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	c.Partners[0].Delivery.Webhook.Mode = "soap"
	err := c.Validate()
	want := `region config: partners[0].delivery.webhook.mode: mode "soap" is not structured or binary`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Validate = %v, want %s", err, want)
	}
}

func TestParseFilter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		expr string
		ok   bool
	}{
		{"ontvanger = 'politie'", true},
		{"ontvanger = 'politie' AND source LIKE 'urn:nld:oin:%'", true},
		{"ontvanger IN ('zvh', 'gemeente')", true},
		{"EXISTS ontvanger", true},
		{"LOWER(ontvanger) = 'zvh' AND LENGTH(ontvanger) > 2", true},
		{"CONCAT_WS('-', ontvanger, 'x') = 'zvh-x'", true},
		{"FOO(ontvanger) = 'x'", false},
		{"LOWER(ontvanger, 'x') = 'x'", false},
		{"", false},
		{"ontvanger = ", false},
		{"ontvanger == 'x'", false},
		{"'unterminated", false},
		{"ontvanger = 'a' AND", false},
		{"1 +", false},
		{"((", false},
		{"a b c", false},
		{"#", false},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			t.Parallel()
			e, err := region.ParseFilter(tt.expr)
			if tt.ok {
				if err != nil || e == nil {
					t.Errorf("ParseFilter(%q) = %v, %v; want an expression", tt.expr, e, err)
				}
				return
			}
			if !errors.Is(err, region.ErrInvalidFilter) {
				t.Errorf("ParseFilter(%q) error = %v, want ErrInvalidFilter", tt.expr, err)
			}
		})
	}
}

func TestMonitorSettings(t *testing.T) {
	t.Parallel()
	c, err := region.Parse("x.yaml", []byte(minimalRegion+`monitor:
  token_env: KETENBUS_MONITOR_TOKEN
  trusted_header: X-Forwarded-Email
  trusted_proxies: [127.0.0.1, 10.1.2.0/24, "::1"]
`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range c.Monitor.Proxies() {
		got = append(got, p.String())
	}
	if want := "127.0.0.1/32 10.1.2.0/24 ::1/128"; strings.Join(got, " ") != want {
		t.Errorf("Proxies() = %v, want %s", got, want)
	}
	env := map[string]string{"K_P": strings.Repeat("A", 43) + "=", "K_F": strings.Repeat("B", 43) + "=", "T_ZVH": strings.Repeat("t", 32),
		"KETENBUS_MONITOR_TOKEN": strings.Repeat("m", 32)}
	s, _, err := c.ResolveSecrets(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("ResolveSecrets: %v", err)
	}
	if s.MonitorToken != env["KETENBUS_MONITOR_TOKEN"] {
		t.Errorf("MonitorToken is not the value of monitor.token_env")
	}
	delete(env, "KETENBUS_MONITOR_TOKEN")
	if _, _, err := c.ResolveSecrets(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "KETENBUS_MONITOR_TOKEN") {
		t.Errorf("ResolveSecrets without the monitor token: %v, want an error naming KETENBUS_MONITOR_TOKEN", err)
	}
}
