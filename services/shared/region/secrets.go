package region

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"unicode"
)

// KeySize is the size in bytes of the pseudonym key and the field
// encryption key (HMAC-SHA256 and AES-256-GCM).
const KeySize = 32

// Secret sizes and formats checked by ResolveSecrets.
const (
	minTokenLength        = 16
	webhookSecretPrefix   = "whsec_"
	minWebhookSecretBytes = 24
	maxWebhookSecretBytes = 64
)

// Secrets are the region's secrets, read from the environment variables
// the config names. Printing a Secrets value with the fmt package or
// logging it with log/slog shows no secret.
type Secrets struct {
	// PseudonymKey is the HMAC key for pseudonyms, KeySize bytes.
	PseudonymKey []byte
	// EncryptionKey is the AES-256-GCM key new sensitive data fields are
	// encrypted with, KeySize bytes: the last of EncryptionKeys.
	EncryptionKey []byte
	// EncryptionKeys are every field encryption key of the region, oldest
	// first: encryption_key_env holds one or more keys separated by commas
	// or white space, and a new key is added at the end. Fields encrypted
	// under an older key stay readable.
	EncryptionKeys [][]byte
	// Tokens maps each partner id with token_env to its bearer token for
	// the gateway.
	Tokens map[string]string
	// TokenHashes maps each partner id with token_sha256_env to the
	// SHA-256 of its bearer token.
	TokenHashes map[string][]byte
	// WebhookSecrets maps the id of each partner with a webhook to its
	// Standard Webhooks secret ("whsec_" + base64).
	WebhookSecrets map[string]string
	// WebhookTokens maps the id of each partner whose webhook sets
	// token_env to the bearer token sent to it.
	WebhookTokens map[string]string
	// MonitorToken is the operator token of the dashboard, when
	// monitor.token_env is set.
	MonitorToken string
}

// Format prints the shape of the secrets, never their values.
func (s Secrets) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "region.Secrets{pseudonym key, %d encryption keys, %d tokens, %d token hashes, %d webhook secrets, %d webhook tokens: redacted}",
		len(s.EncryptionKeys), len(s.Tokens), len(s.TokenHashes), len(s.WebhookSecrets), len(s.WebhookTokens))
}

// LogValue keeps the secrets out of logs.
func (s Secrets) LogValue() slog.Value {
	return slog.StringValue("redacted")
}

// ResolveSecrets reads every secret the config names through getenv
// (os.Getenv in production). Values are trimmed of surrounding white space.
//
// Keys must be standard base64 of exactly KeySize bytes; gateway and
// webhook tokens at least 16 characters, no two partners the same; webhook
// secrets "whsec_" followed by standard base64 of 24 to 64 bytes.
//
// Outside a demo region a variable that is not set is a problem. In a demo
// region it is generated instead (keys and webhook secrets of 32 random
// bytes, tokens of 32 random bytes in unpadded base64url) and returned in
// generated, which maps each such variable name to its value so the caller
// can show and keep it; a value that is set but malformed is a problem in
// either mode.
//
// The error is a *ProblemsError naming, for each problem, the key and the
// variable, never the value.
func (c *Config) ResolveSecrets(getenv func(string) string) (Secrets, map[string]string, error) {
	r := &resolver{c: c, getenv: getenv, generated: map[string]string{}}
	s := Secrets{
		Tokens:         map[string]string{},
		TokenHashes:    map[string][]byte{},
		WebhookSecrets: map[string]string{},
		WebhookTokens:  map[string]string{},
	}
	s.PseudonymKey = r.key("pseudonym_key_env", c.PseudonymKeyEnv)
	s.EncryptionKeys = r.keys("encryption_key_env", c.EncryptionKeyEnv)
	if n := len(s.EncryptionKeys); n > 0 {
		s.EncryptionKey = s.EncryptionKeys[n-1]
	}
	tokenOwner := map[string]string{} // token -> env var holding it
	for i, p := range c.Partners {
		if p.TokenSHA256Env != "" {
			if h, ok := r.tokenHash(fmt.Sprintf("partners[%d].token_sha256_env", i), p.TokenSHA256Env); ok {
				s.TokenHashes[p.ID] = h
			}
		}
		path := fmt.Sprintf("partners[%d].token_env", i)
		if p.TokenEnv != "" { // else token_sha256_env or a client certificate
			if tok, ok := r.token(path, p.TokenEnv); ok {
				if other, dup := tokenOwner[tok]; dup {
					r.problem(path, fmt.Sprintf("environment variable %s holds the same token as %s", p.TokenEnv, other), "every partner needs a token of its own")
				}
				tokenOwner[tok] = p.TokenEnv
				s.Tokens[p.ID] = tok
			}
		}
		w := p.Delivery.Webhook
		if w == nil {
			continue
		}
		wp := fmt.Sprintf("partners[%d].delivery.webhook", i)
		if secret, ok := r.webhookSecret(wp+".secret_env", w.SecretEnv); ok {
			s.WebhookSecrets[p.ID] = secret
		}
		if w.TokenEnv != "" {
			if tok, ok := r.token(wp+".token_env", w.TokenEnv); ok {
				s.WebhookTokens[p.ID] = tok
			}
		}
	}
	if c.Monitor.TokenEnv != "" {
		if tok, ok := r.token("monitor.token_env", c.Monitor.TokenEnv); ok {
			s.MonitorToken = tok
		}
	}
	if len(r.problems) > 0 {
		return Secrets{}, nil, newProblemsError(c.Path, r.problems)
	}
	return s, r.generated, nil
}

type resolver struct {
	c         *Config
	getenv    func(string) string
	generated map[string]string
	problems  []Problem
}

// lookup reads the variable name; in a demo region a variable that is not
// set gets a value from generate. ok is false when there is no value (a
// problem has been recorded).
func (r *resolver) lookup(path, name string, generate func() string) (string, bool) {
	if name == "" {
		r.problem(path, lastKey(path)+" is missing", "")
		return "", false
	}
	if v, ok := r.generated[name]; ok {
		return v, true
	}
	if v := strings.TrimSpace(r.getenv(name)); v != "" {
		return v, true
	}
	if !r.c.Demo {
		r.problem(path, fmt.Sprintf("environment variable %s is not set", name), "set it, or mark a demo region with demo: true to generate missing secrets")
		return "", false
	}
	v := generate()
	r.generated[name] = v
	return v, true
}

func (r *resolver) key(path, name string) []byte {
	v, ok := r.lookup(path, name, func() string { return base64.StdEncoding.EncodeToString(randomBytes(KeySize)) })
	if !ok {
		return nil
	}
	return r.decodeKey(path, name, v, "")
}

// keys reads one or more keys, separated by commas or white space.
func (r *resolver) keys(path, name string) [][]byte {
	v, ok := r.lookup(path, name, func() string { return base64.StdEncoding.EncodeToString(randomBytes(KeySize)) })
	if !ok {
		return nil
	}
	var keys [][]byte
	parts := strings.FieldsFunc(v, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
	for i, part := range parts {
		which := ""
		if len(parts) > 1 {
			which = fmt.Sprintf(" (key %d of %d)", i+1, len(parts))
		}
		key := r.decodeKey(path, name, part, which)
		if key == nil {
			return nil
		}
		keys = append(keys, key)
	}
	return keys
}

func (r *resolver) decodeKey(path, name, v, which string) []byte {
	const hint = "generate a key with: ketenbus keys generate (or openssl rand -base64 32)"
	key, err := base64.StdEncoding.DecodeString(v)
	switch {
	case err != nil:
		r.problem(path, fmt.Sprintf("environment variable %s%s is not standard base64", name, which), hint)
		return nil
	case len(key) != KeySize:
		r.problem(path, fmt.Sprintf("environment variable %s%s holds %d bytes, not %d", name, which, len(key), KeySize), hint)
		return nil
	}
	return key
}

// tokenHash reads the SHA-256 of a token, in hex. It is never generated:
// a hash is only worth something when somebody holds its token.
func (r *resolver) tokenHash(path, name string) ([]byte, bool) {
	v := strings.TrimSpace(r.getenv(name))
	const hint = "set it to the hex SHA-256 of the partner's token, such as: printf %s \"$TOKEN\" | sha256sum"
	if v == "" {
		r.problem(path, fmt.Sprintf("environment variable %s is not set", name), hint)
		return nil, false
	}
	h, err := hex.DecodeString(strings.ToLower(v))
	if err != nil || len(h) != sha256.Size {
		r.problem(path, fmt.Sprintf("environment variable %s does not hold 64 hex digits", name), hint)
		return nil, false
	}
	return h, true
}

func (r *resolver) token(path, name string) (string, bool) {
	v, ok := r.lookup(path, name, func() string { return base64.RawURLEncoding.EncodeToString(randomBytes(32)) })
	if !ok {
		return "", false
	}
	if len(v) < minTokenLength {
		r.problem(path, fmt.Sprintf("environment variable %s holds a token shorter than %d characters", name, minTokenLength), "generate a token with: openssl rand -base64 32")
		return "", false
	}
	return v, true
}

func (r *resolver) webhookSecret(path, name string) (string, bool) {
	v, ok := r.lookup(path, name, func() string {
		return webhookSecretPrefix + base64.StdEncoding.EncodeToString(randomBytes(32))
	})
	if !ok {
		return "", false
	}
	const hint = `generate a secret with: echo "whsec_$(openssl rand -base64 32)"`
	raw, found := strings.CutPrefix(v, webhookSecretPrefix)
	if !found {
		r.problem(path, fmt.Sprintf("environment variable %s does not start with %s", name, webhookSecretPrefix), hint)
		return "", false
	}
	b, err := base64.StdEncoding.DecodeString(raw)
	switch {
	case err != nil:
		r.problem(path, fmt.Sprintf("environment variable %s is not %s followed by standard base64", name, webhookSecretPrefix), hint)
		return "", false
	case len(b) < minWebhookSecretBytes || len(b) > maxWebhookSecretBytes:
		r.problem(path, fmt.Sprintf("environment variable %s holds a secret of %d bytes, not %d to %d", name, len(b), minWebhookSecretBytes, maxWebhookSecretBytes), hint)
		return "", false
	}
	return v, true
}

func (r *resolver) problem(path, msg, hint string) {
	r.problems = append(r.problems, Problem{Line: r.c.lineOf(path), Path: path, Message: msg, Hint: hint})
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (it panics instead)
	return b
}
