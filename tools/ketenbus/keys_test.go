package main

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ketenbus/ketenbus/services/shared/fieldcrypt"
	"github.com/ketenbus/ketenbus/services/shared/natsauth"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/tools/internal/devstack"
)

func TestKeysGenerate(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 3 {
		code, out, errOut := ketenbus(t, "", "keys", "generate")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(out))
		if err != nil || len(key) != 32 {
			t.Fatalf("output %q is not 32 bytes of standard base64", out)
		}
		if want := "key id " + fieldcrypt.KeyID(key); strings.TrimSpace(errOut) != want {
			t.Fatalf("stderr %q, want %q", errOut, want)
		}
		if seen[out] {
			t.Fatal("the same key twice")
		}
		seen[out] = true
		// A key generate prints works as a field key.
		if _, err := fieldcrypt.New([][]byte{key}); err != nil {
			t.Fatal(err)
		}
	}
	code, out, _ := ketenbus(t, "", "keys", "generate", "--json")
	var g struct {
		Key   string `json:"key"`
		KeyID string `json:"key_id"`
	}
	if err := json.Unmarshal([]byte(out), &g); err != nil || code != 0 {
		t.Fatalf("--json: exit %d, %q (%v)", code, out, err)
	}
	if key, _ := base64.StdEncoding.DecodeString(g.Key); len(key) != 32 || g.KeyID != fieldcrypt.KeyID(key) {
		t.Fatalf("--json: %q", out)
	}
}

// TestKeysEnv: keys env keeps every secret of a region, its JetStream key,
// the NATS password of every user and the Redis password in one private
// file, generating them once, also for a region that is not a demo
// region, and prints none of them.
func TestKeysEnv(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(regionFile)
	if err != nil {
		t.Fatal(err)
	}
	prod := strings.Replace(string(b), "\ndemo: true\n", "\ndemo: false\n", 1)
	prod = strings.ReplaceAll(prod, "http://127.0.0.1:8181/", "https://sink.example/")
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "region.yaml")
	if err := os.WriteFile(cfgPath, []byte(prod), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := region.Load(cfgPath)
	if err != nil || cfg.Demo {
		t.Fatalf("load the non-demo region: %v", err)
	}
	file := filepath.Join(dir, "region.env")

	code, out, errOut := ketenbus(t, "", "keys", "env", "--config", cfgPath, "--file", file)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	info, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", file, info.Mode().Perm())
	}
	vals := envFile(t, file)
	// Every process of the region starts with these and nothing else.
	if _, generated, err := cfg.ResolveSecrets(func(name string) string { return vals[name] }); err != nil || len(generated) > 0 {
		t.Errorf("the region's secrets from the file: %v (%d missing)", err, len(generated))
	}
	users, err := natsauth.Users(cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"KETENBUS_JETSTREAM_KEY", "KETENBUS_REDIS_PASSWORD"}
	for _, u := range users {
		want = append(want, u.PasswordEnv)
	}
	for _, name := range want {
		if len(vals[name]) < 32 {
			t.Errorf("%s holds %d characters, want a generated secret", name, len(vals[name]))
		}
	}
	if _, err := hex.DecodeString(vals["KETENBUS_REDIS_PASSWORD"]); err != nil {
		t.Errorf("KETENBUS_REDIS_PASSWORD is not hex: it goes into a Redis URL")
	}
	if want := fmt.Sprintf("%s: %d secrets, %d generated now\n", file, len(vals), len(vals)); out != want {
		t.Errorf("stdout %q, want %q", out, want)
	}
	for name, v := range vals {
		if strings.Contains(out+errOut, v) {
			t.Errorf("the value of %s was printed", name)
		}
	}

	// Again: nothing new, the same values.
	code, out, errOut = ketenbus(t, "", "keys", "env", "--config", cfgPath, "--file", file)
	if code != 0 || !strings.HasSuffix(out, ", 0 generated now\n") {
		t.Fatalf("second run: exit %d, %q %s", code, out, errOut)
	}
	if again := envFile(t, file); !maps.Equal(again, vals) {
		t.Error("the second run changed the secrets")
	}

	code, _, errOut = ketenbus(t, "", "keys", "env", "--config", cfgPath)
	if code != 2 || !strings.Contains(errOut, "--file is missing") {
		t.Errorf("without --file: exit %d, %s", code, errOut)
	}
}

// envFile reads the values of the env file at path, which must hold
// some.
func envFile(t *testing.T, path string) map[string]string {
	t.Helper()
	vals, err := devstack.ReadEnvFile(path)
	if err != nil || len(vals) == 0 {
		t.Fatalf("%s: %v, %d values", path, err, len(vals))
	}
	return vals
}

// TestKeysEnvFormatEnv: --format env writes NAME=value lines, as
// kustomize's secretGenerator reads them, and keeps them on a second run.
func TestKeysEnvFormatEnv(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "ketenbus.env")
	code, _, errOut := ketenbus(t, "", "keys", "env", "--config", regionFile, "--format", "env", "--file", file)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := 0
	for line := range strings.Lines(string(b)) {
		if strings.HasPrefix(line, "#") {
			continue
		}
		lines++
		if !regexp.MustCompile(`^[A-Z][A-Z0-9_]*=[A-Za-z0-9+/=_-]{16,}\n$`).MatchString(line) {
			t.Errorf("not a NAME=value line: %q", line)
		}
	}
	vals := envFile(t, file)
	if lines == 0 || lines != len(vals) {
		t.Fatalf("%d lines, %d values", lines, len(vals))
	}
	code, out, _ := ketenbus(t, "", "keys", "env", "--config", regionFile, "--format", "env", "--file", file)
	if code != 0 || !strings.HasSuffix(out, ", 0 generated now\n") || !maps.Equal(envFile(t, file), vals) {
		t.Errorf("second run: exit %d, %q, or changed values", code, out)
	}
	if code, _, errOut := ketenbus(t, "", "keys", "env", "--config", regionFile, "--format", "yaml", "--file", file); code != 2 || !strings.Contains(errOut, `--format "yaml"`) {
		t.Errorf("--format yaml: exit %d, %s", code, errOut)
	}
}

// TestKeysEnvParts: --part keeps the region's secrets, the NATS ones and
// the Redis password in files of their own, which together hold what one
// file of all of them holds.
func TestKeysEnvParts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	keys := func(part string) []string {
		file := filepath.Join(dir, part+".env")
		if code, _, errOut := ketenbus(t, "", "keys", "env", "--config", regionFile, "--part", part, "--file", file); code != 0 {
			t.Fatalf("--part %s: exit %d: %s", part, code, errOut)
		}
		return slices.Sorted(maps.Keys(envFile(t, file)))
	}
	all := keys("all")
	var parts []string
	for _, part := range []string{"region", "nats", "redis"} {
		parts = append(parts, keys(part)...)
	}
	slices.Sort(parts)
	if !slices.Equal(parts, all) {
		t.Errorf("the parts hold %v,\nall holds %v", parts, all)
	}
	if got := keys("redis"); !slices.Equal(got, []string{"KETENBUS_REDIS_PASSWORD"}) {
		t.Errorf("--part redis holds %v", got)
	}
	for _, name := range keys("nats") {
		if name != "KETENBUS_JETSTREAM_KEY" && !strings.HasPrefix(name, "KETENBUS_NATS_PASSWORD_") {
			t.Errorf("--part nats holds %s", name)
		}
	}
	if code, _, errOut := ketenbus(t, "", "keys", "env", "--config", regionFile, "--part", "tokens", "--file", filepath.Join(dir, "x.env")); code != 2 || !strings.Contains(errOut, `--part "tokens"`) {
		t.Errorf("--part tokens: exit %d, %s", code, errOut)
	}
}
