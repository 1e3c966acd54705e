package redact_test

import (
	"strings"
	"testing"

	"github.com/ketenbus/ketenbus/services/shared/redact"
)

func TestURL(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string]string{
		"nats://127.0.0.1:4222":                         "nats://127.0.0.1:4222",
		"nats://router:s3cret@nats:4222":                "nats://xxxxx@nats:4222",
		"redis://:s3cret@redis:6379/0":                  "redis://xxxxx@redis:6379/0",
		"nats://a:s3cret@n1:4222, nats://n2:4222":       "nats://xxxxx@n1:4222,nats://n2:4222",
		"nats://u:12#s3cret@host:4222":                  "(a URL with hidden user information)",
		"https://hook.example/x?token=s3cret#s3cret":    "https://hook.example/x?token=redacted",
		"nats://router:s3cr%zzet@nats:4222":             "(a URL that does not parse)",
		"redis://redis:6379?password=s3cret&protocol=3": "redis://redis:6379?password=redacted&protocol=redacted",
	} {
		got := redact.URL(raw)
		if got != want {
			t.Errorf("URL(%q) = %q, want %q", raw, got, want)
		}
		if strings.Contains(got, "s3cr") {
			t.Errorf("URL(%q) = %q shows the secret", raw, got)
		}
	}
}
