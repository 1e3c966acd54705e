package region_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"testing"

	"github.com/ketenbus/ketenbus/services/shared/region"
)

const productionRegion = "testdata/production.yaml"

func load(t *testing.T, path string) *region.Config {
	t.Helper()
	c, err := region.Load(path)
	if err != nil {
		t.Fatalf("Load(%s): %v", path, err)
	}
	return c
}

func random(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func newKey() string    { return base64.StdEncoding.EncodeToString(random(32)) }
func newToken() string  { return base64.RawURLEncoding.EncodeToString(random(32)) }
func newSecret() string { return "whsec_" + base64.StdEncoding.EncodeToString(random(32)) }

// productionEnv returns a valid value for every secret of the production
// fixture.
func productionEnv() map[string]string {
	return map[string]string{
		"KETENBUS_PSEUDONYM_KEY":          newKey(),
		"KETENBUS_FIELD_KEY":              newKey(),
		"KETENBUS_TOKEN_ZVH":              newToken(),
		"KETENBUS_TOKEN_GGZ":              newToken(),
		"KETENBUS_TOKEN_WONINGCORPORATIE": newToken(),
		"KETENBUS_WEBHOOK_SECRET_ZVH":     newSecret(),
		"KETENBUS_WEBHOOK_SECRET_GGZ":     newSecret(),
		"KETENBUS_WEBHOOK_TOKEN_ZVH":      newToken(),
	}
}

func getenv(env map[string]string) func(string) string {
	return func(name string) string { return env[name] }
}

// assertNoSecretIn fails when text contains any of the values.
func assertNoSecretIn(t *testing.T, what, text string, values map[string]string) {
	t.Helper()
	for name, v := range values {
		if v != "" && strings.Contains(text, v) {
			t.Errorf("%s contains the value of %s:\n%s", what, name, text)
		}
	}
}

func TestResolveSecretsProduction(t *testing.T) {
	t.Parallel()
	c := load(t, productionRegion)
	env := productionEnv()
	s, generated, err := c.ResolveSecrets(getenv(env))
	if err != nil {
		t.Fatalf("ResolveSecrets: %v", err)
	}
	if len(generated) != 0 {
		t.Errorf("generated %v outside demo mode", keysOf(generated))
	}
	checks := []struct {
		name      string
		got, want string
	}{
		{"pseudonym key", base64.StdEncoding.EncodeToString(s.PseudonymKey), env["KETENBUS_PSEUDONYM_KEY"]},
		{"encryption key", base64.StdEncoding.EncodeToString(s.EncryptionKey), env["KETENBUS_FIELD_KEY"]},
		{"token zvh", s.Tokens["zvh"], env["KETENBUS_TOKEN_ZVH"]},
		{"token ggz", s.Tokens["ggz"], env["KETENBUS_TOKEN_GGZ"]},
		{"token woningcorporatie", s.Tokens["woningcorporatie"], env["KETENBUS_TOKEN_WONINGCORPORATIE"]},
		{"webhook secret zvh", s.WebhookSecrets["zvh"], env["KETENBUS_WEBHOOK_SECRET_ZVH"]},
		{"webhook secret ggz", s.WebhookSecrets["ggz"], env["KETENBUS_WEBHOOK_SECRET_GGZ"]},
		{"webhook token zvh", s.WebhookTokens["zvh"], env["KETENBUS_WEBHOOK_TOKEN_ZVH"]},
		{"counts", fmt.Sprint(len(s.Tokens), len(s.WebhookSecrets), len(s.WebhookTokens)), "3 2 1"},
	}
	for _, tt := range checks {
		if tt.got != tt.want {
			t.Errorf("%s: got a different value than the environment holds", tt.name)
		}
	}
}

func TestResolveSecretsTrimsWhiteSpace(t *testing.T) {
	t.Parallel()
	c := load(t, productionRegion)
	env := productionEnv()
	key := env["KETENBUS_FIELD_KEY"]
	env["KETENBUS_FIELD_KEY"] = " " + key + "\n"
	s, _, err := c.ResolveSecrets(getenv(env))
	if err != nil {
		t.Fatalf("ResolveSecrets: %v", err)
	}
	if base64.StdEncoding.EncodeToString(s.EncryptionKey) != key {
		t.Error("encryption key differs from the trimmed value")
	}
}

func TestResolveSecretsMissingOutsideDemo(t *testing.T) {
	t.Parallel()
	c := load(t, productionRegion)
	tests := []struct {
		unset string
		want  string
	}{
		{"KETENBUS_PSEUDONYM_KEY", "production.yaml:4: pseudonym_key_env: environment variable KETENBUS_PSEUDONYM_KEY is not set"},
		{"KETENBUS_FIELD_KEY", "production.yaml:5: encryption_key_env: environment variable KETENBUS_FIELD_KEY is not set"},
		{"KETENBUS_TOKEN_ZVH", "production.yaml:10: partners[0].token_env: environment variable KETENBUS_TOKEN_ZVH is not set"},
		{"KETENBUS_TOKEN_GGZ", "production.yaml:24: partners[1].token_env: environment variable KETENBUS_TOKEN_GGZ is not set"},
		{"KETENBUS_WEBHOOK_SECRET_ZVH", "production.yaml:19: partners[0].delivery.webhook.secret_env: environment variable KETENBUS_WEBHOOK_SECRET_ZVH is not set"},
		{"KETENBUS_WEBHOOK_TOKEN_ZVH", "production.yaml:20: partners[0].delivery.webhook.token_env: environment variable KETENBUS_WEBHOOK_TOKEN_ZVH is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.unset, func(t *testing.T) {
			t.Parallel()
			env := productionEnv()
			delete(env, tt.unset)
			_, generated, err := c.ResolveSecrets(getenv(env))
			var pe *region.ProblemsError
			if !errors.As(err, &pe) || len(pe.Problems) != 1 {
				t.Fatalf("ResolveSecrets error = %v, want one problem", err)
			}
			if !strings.HasPrefix(err.Error(), "testdata/"+tt.want) {
				t.Errorf("error:\n got %v\nwant testdata/%s", err, tt.want)
			}
			if generated != nil {
				t.Errorf("generated secrets outside demo mode")
			}
			assertNoSecretIn(t, "error", err.Error(), env)
		})
	}

	t.Run("all of them", func(t *testing.T) {
		t.Parallel()
		_, _, err := c.ResolveSecrets(getenv(nil))
		var pe *region.ProblemsError
		if !errors.As(err, &pe) || len(pe.Problems) != len(productionEnv()) {
			t.Fatalf("ResolveSecrets error = %v, want %d problems", err, len(productionEnv()))
		}
	})
}

func TestResolveSecretsDemo(t *testing.T) {
	t.Parallel()
	c := load(t, exampleRegion)
	pseudonymKey := newKey()
	env := map[string]string{"KETENBUS_PSEUDONYM_KEY": pseudonymKey}

	s, generated, err := c.ResolveSecrets(getenv(env))
	if err != nil {
		t.Fatalf("ResolveSecrets: %v", err)
	}
	if _, ok := generated["KETENBUS_PSEUDONYM_KEY"]; ok {
		t.Error("generated KETENBUS_PSEUDONYM_KEY although it was set")
	}
	if base64.StdEncoding.EncodeToString(s.PseudonymKey) != pseudonymKey {
		t.Error("pseudonym key is not the one set in the environment")
	}
	if len(s.EncryptionKey) != region.KeySize {
		t.Errorf("encryption key has %d bytes", len(s.EncryptionKey))
	}
	if base64.StdEncoding.EncodeToString(s.EncryptionKey) != generated["KETENBUS_FIELD_KEY"] {
		t.Error("encryption key is not the generated value reported")
	}
	// 9 gateway tokens, 8 webhook secrets, 1 webhook token, 1 key.
	if len(generated) != 19 || len(s.Tokens) != 9 || len(s.WebhookSecrets) != 8 || len(s.WebhookTokens) != 1 {
		t.Errorf("generated %d, tokens %d, webhook secrets %d, webhook tokens %d; want 19, 9, 8, 1",
			len(generated), len(s.Tokens), len(s.WebhookSecrets), len(s.WebhookTokens))
	}
	for _, p := range c.Partners {
		if s.Tokens[p.ID] != generated[p.TokenEnv] || len(s.Tokens[p.ID]) < 40 {
			t.Errorf("token of %s is not the generated value", p.ID)
		}
		if w := p.Delivery.Webhook; w != nil {
			secret := s.WebhookSecrets[p.ID]
			raw, ok := strings.CutPrefix(secret, "whsec_")
			b, err := base64.StdEncoding.DecodeString(raw)
			if !ok || err != nil || len(b) != 32 || secret != generated[w.SecretEnv] {
				t.Errorf("webhook secret of %s is not whsec_ with 32 base64 bytes, or not reported", p.ID)
			}
		}
	}
	seen := map[string]bool{}
	for name, v := range generated {
		if seen[v] {
			t.Errorf("%s has the same generated value as another variable", name)
		}
		seen[v] = true
	}

	// Every run generates fresh values.
	_, again, err := c.ResolveSecrets(getenv(env))
	if err != nil {
		t.Fatal(err)
	}
	if again["KETENBUS_FIELD_KEY"] == generated["KETENBUS_FIELD_KEY"] {
		t.Error("two runs generated the same key")
	}
}

// TestResolveSecretsRejectsMalformedValues checks every format rule, in and
// out of demo mode, and that no error repeats the value it rejects.
func TestResolveSecretsRejectsMalformedValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		env   string
		value string
		want  string
	}{
		{"key too short", "KETENBUS_PSEUDONYM_KEY", base64.StdEncoding.EncodeToString([]byte("sixteen-byte-key")), "environment variable KETENBUS_PSEUDONYM_KEY holds 16 bytes, not 32"},
		{"key not base64", "KETENBUS_FIELD_KEY", "this-is-no-base64-but-a-secret!", "environment variable KETENBUS_FIELD_KEY is not standard base64"},
		{"key base64url", "KETENBUS_FIELD_KEY", "_-" + base64.RawURLEncoding.EncodeToString(random(31)), "environment variable KETENBUS_FIELD_KEY is not standard base64"},
		{"token too short", "KETENBUS_TOKEN_GGZ", "short-secret", "environment variable KETENBUS_TOKEN_GGZ holds a token shorter than 16 characters"},
		{"webhook token too short", "KETENBUS_WEBHOOK_TOKEN_POLITIE", "short-secret", "partners[3].delivery.webhook.token_env: environment variable KETENBUS_WEBHOOK_TOKEN_POLITIE holds a token shorter"},
		{"webhook secret without prefix", "KETENBUS_WEBHOOK_SECRET_GGZ", base64.StdEncoding.EncodeToString(random(32)), "environment variable KETENBUS_WEBHOOK_SECRET_GGZ does not start with whsec_"},
		{"webhook secret not base64", "KETENBUS_WEBHOOK_SECRET_GGZ", "whsec_not*base64*at*all*secret", "environment variable KETENBUS_WEBHOOK_SECRET_GGZ is not whsec_ followed by standard base64"},
		{"webhook secret too short", "KETENBUS_WEBHOOK_SECRET_GGZ", "whsec_" + base64.StdEncoding.EncodeToString([]byte("only-sixteen-byt")), "environment variable KETENBUS_WEBHOOK_SECRET_GGZ holds a secret of 16 bytes, not 24 to 64"},
	}
	for _, demo := range []bool{false, true} {
		c := load(t, exampleRegion)
		if !demo {
			c.Demo = false
		}
		for _, tt := range tests {
			t.Run(fmt.Sprintf("demo=%v/%s", demo, tt.name), func(t *testing.T) {
				t.Parallel()
				env := map[string]string{}
				if !demo {
					env = demoEnv(c)
				}
				env[tt.env] = tt.value
				_, _, err := c.ResolveSecrets(getenv(env))
				if err == nil {
					t.Fatal("ResolveSecrets accepted a malformed value")
				}
				if !strings.Contains(err.Error(), tt.want) {
					t.Errorf("error:\n%v\nwant it to contain %q", err, tt.want)
				}
				if n := strings.Count(err.Error(), "\n"); n != 0 {
					t.Errorf("error has %d lines, want 1:\n%v", n+1, err)
				}
				assertNoSecretIn(t, "error", err.Error(), env)
			})
		}
	}

	t.Run("two partners with one token", func(t *testing.T) {
		t.Parallel()
		c := load(t, productionRegion)
		env := productionEnv()
		env["KETENBUS_TOKEN_GGZ"] = env["KETENBUS_TOKEN_ZVH"]
		_, _, err := c.ResolveSecrets(getenv(env))
		want := "production.yaml:24: partners[1].token_env: environment variable KETENBUS_TOKEN_GGZ holds the same token as KETENBUS_TOKEN_ZVH"
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("error = %v, want %s", err, want)
		}
		assertNoSecretIn(t, "error", err.Error(), env)
	})
}

// demoEnv returns a valid value for every secret the example region names.
func demoEnv(c *region.Config) map[string]string {
	c2 := *c
	c2.Demo = true
	_, generated, err := c2.ResolveSecrets(func(string) string { return "" })
	if err != nil {
		panic(err)
	}
	return generated
}

func TestSecretsNeverPrinted(t *testing.T) {
	t.Parallel()
	c := load(t, productionRegion)
	env := productionEnv()
	s, _, err := c.ResolveSecrets(getenv(env))
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logged, nil))
	logger.Info("secrets resolved", "secrets", s)
	logger.Info("secrets resolved", slog.Any("secrets", &s))

	outputs := map[string]string{
		"%v":         fmt.Sprintf("%v", s),
		"%+v":        fmt.Sprintf("%+v", s),
		"%#v":        fmt.Sprintf("%#v", s),
		"%s":         fmt.Sprintf("%s", s),
		"%v pointer": fmt.Sprintf("%v", &s),
		"slog":       logged.String(),
	}
	// The raw keys as Go would print a byte slice, too.
	values := maps.Clone(env)
	values["pseudonym key bytes"] = fmt.Sprint(s.PseudonymKey)
	values["encryption key bytes"] = fmt.Sprint(s.EncryptionKey)
	for what, out := range outputs {
		assertNoSecretIn(t, what, out, values)
		if !strings.Contains(out, "redacted") {
			t.Errorf("%s output does not say the secrets are redacted: %s", what, out)
		}
	}
}

func keysOf(m map[string]string) []string {
	var names []string
	for name := range m {
		names = append(names, name)
	}
	return names
}
