package main

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ketenbus/ketenbus/services/fieldcrypt"
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
