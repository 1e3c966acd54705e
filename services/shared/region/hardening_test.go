package region_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/services/shared/region"
)

const hardened = `
region: productie
source: "urn:nld:oin:00000009999999990000:systeem:ketenbus"
pseudonym_key_env: KETENBUS_PSEUDONYM_KEY
encryption_key_env: KETENBUS_FIELD_KEY
partners:
  - id: politie
    name: Politie
    sources: ["urn:nld:oin:00000009999999990004:systeem:bvh"]
    token_sha256_env: KETENBUS_TOKEN_SHA256_POLITIE
    publishes: [nl.sociaaldomein.signaal.v1]
  - id: ggz
    name: GGZ
    sources: ["urn:nld:kvknr:99999901:systeem:epd"]
    client_cert: {common_name: epd.ggz.example, sha256: "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89"}
    publishes: [nl.sociaaldomein.signaal.v1]
gateway:
  max_header_bytes: 8192
  read_header_timeout: 2s
  idle_timeout: 1m
  tls: {cert_file: /etc/ketenbus/gateway.crt, key_file: /etc/ketenbus/gateway.key, client_ca_file: /etc/ketenbus/partners-ca.crt}
retention:
  signaal: 365d
  bevestiging: 2s
  audit: 3650d
escalation:
  ladder: [{level: 1, after_working_days: 0, to: [politie]}]
samenloop: {regievoerder: politie}
`

func TestHardeningAndRetentionKeys(t *testing.T) {
	t.Parallel()
	c, err := region.Parse("hardened.yaml", []byte(hardened))
	if err != nil {
		t.Fatal(err)
	}
	politie, _ := c.Partner("politie")
	ggz, _ := c.Partner("ggz")
	g := c.Gateway
	checks := []struct {
		name      string
		got, want any
	}{
		{"token hash env", politie.TokenSHA256Env, "KETENBUS_TOKEN_SHA256_POLITIE"},
		{"client cert cn", ggz.ClientCert.CommonName, "epd.ggz.example"},
		{"client cert fingerprint", ggz.ClientCert.Fingerprint(), strings.Repeat("abcdef0123456789", 4)},
		{"max header bytes", g.MaxHeaderBytes, 8192},
		{"read header timeout", g.ReadHeaderTimeout, 2 * time.Second},
		{"read timeout default", g.ReadTimeout, region.DefaultReadTimeout},
		{"write timeout default", g.WriteTimeout, region.DefaultWriteTimeout},
		{"idle timeout", g.IdleTimeout, time.Minute},
		{"client ca", g.TLS.ClientCAFile, "/etc/ketenbus/partners-ca.crt"},
		{"signaal retention", c.RetentionOf("nl.sociaaldomein.signaal.v1"), 365 * region.Day},
		{"bevestiging retention", c.RetentionOf("nl.sociaaldomein.bevestiging.v1"), 2 * time.Second},
		{"overdracht retention default", c.RetentionOf("nl.sociaaldomein.overdracht-jeugd-wmo.v1"), 1825 * region.Day},
		{"audit retention", c.Retention[region.RetentionAudit], 3650 * region.Day},
		{"unknown type: the longest", c.RetentionOf("nl.sociaaldomein.melding.v1"), 1825 * region.Day},
	}
	for _, tt := range checks {
		if tt.got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

func TestResolveSecretsKeysAndTokenHashes(t *testing.T) {
	t.Parallel()
	c, err := region.Parse("hardened.yaml", []byte(hardened))
	if err != nil {
		t.Fatal(err)
	}
	k1, k2 := newKey(), newKey()
	token := newToken()
	sum := sha256.Sum256([]byte(token))
	env := map[string]string{
		"KETENBUS_PSEUDONYM_KEY":        newKey(),
		"KETENBUS_FIELD_KEY":            k1 + ",\n " + k2,
		"KETENBUS_TOKEN_SHA256_POLITIE": strings.ToUpper(hex.EncodeToString(sum[:])),
	}
	s, _, err := c.ResolveSecrets(getenv(env))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.EncryptionKeys) != 2 || base64.StdEncoding.EncodeToString(s.EncryptionKeys[0]) != k1 ||
		base64.StdEncoding.EncodeToString(s.EncryptionKey) != k2 {
		t.Errorf("keys: %d, want 2 with the newest last", len(s.EncryptionKeys))
	}
	if string(s.TokenHashes["politie"]) != string(sum[:]) || len(s.Tokens) != 0 {
		t.Errorf("token hashes %d, tokens %d; want politie's hash and no token", len(s.TokenHashes), len(s.Tokens))
	}

	env["KETENBUS_FIELD_KEY"] = k1 + ",c2hvcnQ="
	env["KETENBUS_TOKEN_SHA256_POLITIE"] = token
	_, _, err = c.ResolveSecrets(getenv(env))
	for _, want := range []string{"KETENBUS_FIELD_KEY (key 2 of 2) holds 5 bytes", "KETENBUS_TOKEN_SHA256_POLITIE does not hold 64 hex digits"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want it to say %q", err, want)
		}
	}
	assertNoSecretIn(t, "error", err.Error(), env)
}
