package fieldcrypt_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/ketenbus/ketenbus/services/shared/fieldcrypt"
)

func key() []byte {
	k := make([]byte, fieldcrypt.KeySize)
	_, _ = rand.Read(k)
	return k
}

const event = `{"specversion":"1.0","id":"s-1","source":"urn:nld:oin:00000009999999990004:systeem:bvh","type":"nl.sociaaldomein.signaal.v1","data":{"bsn":"999993653","categorie":"overlast","urgentie":"hoog","contactpersoon":{"naam":"A. de Boer"}},"subject":"ab"}`

func isBSN(f string) bool { return f == "bsn" }

func data(t *testing.T, ev []byte) map[string]any {
	t.Helper()
	var e struct{ Data map[string]any }
	if err := json.Unmarshal(ev, &e); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, ev)
	}
	return e.Data
}

func TestSealAndOpen(t *testing.T) {
	t.Parallel()
	k, err := fieldcrypt.New([][]byte{key()})
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := k.Seal([]byte(event), isBSN)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("999993653")) {
		t.Fatalf("the BSN is in the sealed event: %s", sealed)
	}
	bsn, _ := data(t, sealed)["bsn"].(string)
	if !strings.HasPrefix(bsn, "kb1."+k.Current()+".") {
		t.Fatalf("sealed bsn %q", bsn)
	}
	if !strings.Contains(string(sealed), `"categorie":"overlast"`) || !strings.HasSuffix(string(sealed), `,"subject":"ab"}`) {
		t.Fatalf("the rest of the event changed: %s", sealed)
	}
	again, err := k.Seal(sealed, isBSN)
	if err != nil || !bytes.Equal(again, sealed) {
		t.Fatalf("sealing twice changed the event (%v)", err)
	}

	opened, err := k.Open(sealed, isBSN)
	if err != nil {
		t.Fatal(err)
	}
	if string(opened) != event {
		t.Fatalf("opened\n%s\nwant\n%s", opened, event)
	}
	// A subscription without bsn gets neither the BSN nor its ciphertext.
	stripped, err := k.Open(sealed, func(string) bool { return false })
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := data(t, stripped)["bsn"]; ok {
		t.Fatalf("bsn left in: %s", stripped)
	}
}

func TestRotation(t *testing.T) {
	t.Parallel()
	k1, k2 := key(), key()
	old, _ := fieldcrypt.New([][]byte{k1})
	sealedOld, err := old.Seal([]byte(event), isBSN)
	if err != nil {
		t.Fatal(err)
	}
	both, _ := fieldcrypt.New([][]byte{k1, k2})
	if both.Current() == old.Current() {
		t.Fatal("the newest key does not seal")
	}
	opened, err := both.Open(sealedOld, isBSN)
	if err != nil || string(opened) != event {
		t.Fatalf("an event sealed under key 1 does not open after key 2 was added: %v", err)
	}
	sealedNew, _ := both.Seal([]byte(event), isBSN)
	if !strings.Contains(string(sealedNew), "kb1."+fieldcrypt.KeyID(k2)+".") {
		t.Fatalf("new events are not sealed with key 2: %s", sealedNew)
	}
	_, err = old.Open(sealedNew, isBSN)
	if !errors.Is(err, fieldcrypt.ErrUnknownKey) || !strings.Contains(err.Error(), fieldcrypt.KeyID(k2)) {
		t.Fatalf("opening with only key 1: %v, want ErrUnknownKey naming key 2", err)
	}
}

func TestTamperingAndTransplanting(t *testing.T) {
	t.Parallel()
	k, _ := fieldcrypt.New([][]byte{key()})
	sealed, _ := k.Seal([]byte(event), isBSN)
	bsn, _ := data(t, sealed)["bsn"].(string)

	for name, ev := range map[string]string{
		"another event id": strings.Replace(string(sealed), `"id":"s-1"`, `"id":"s-2"`, 1),
		"another source":   strings.Replace(string(sealed), `systeem:bvh`, `systeem:epd`, 1),
		"another field":    strings.Replace(string(sealed), `"categorie":"overlast"`, `"categorie":"`+bsn+`"`, 1),
		"a flipped byte":   strings.Replace(string(sealed), bsn, bsn[:len(bsn)-2]+"AA", 1),
		"not base64":       strings.Replace(string(sealed), bsn, "kb1."+k.Current()+".!!", 1),
		"no key separator": strings.Replace(string(sealed), bsn, "kb1.abc", 1),
	} {
		allow := func(f string) bool { return f == "bsn" || f == "categorie" }
		_, err := k.Open([]byte(ev), allow)
		if !errors.Is(err, fieldcrypt.ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
		if err != nil && strings.Contains(err.Error(), "999993653") {
			t.Errorf("%s: the error shows the BSN", name)
		}
	}
}

func TestNotAnEvent(t *testing.T) {
	t.Parallel()
	k, _ := fieldcrypt.New([][]byte{key()})
	for _, in := range []string{`[]`, `{"data":{"bsn":"1"}}`, `not json`} {
		if _, err := k.Seal([]byte(in), isBSN); !errors.Is(err, fieldcrypt.ErrNotEvent) {
			t.Errorf("Seal(%s): %v, want ErrNotEvent", in, err)
		}
	}
	noData := `{"id":"1","source":"s"}`
	if out, err := k.Seal([]byte(noData), isBSN); err != nil || string(out) != noData {
		t.Errorf("an event without data: %s %v", out, err)
	}
	if _, err := fieldcrypt.New([][]byte{[]byte("short")}); err == nil {
		t.Error("a 5-byte key was accepted")
	}
}

// TestSealData: data sealed on its own, as the gateway seals what it
// parsed, opens in the whole event as Seal's does; data without a
// sensitive field, or not an object, comes back unchanged.
func TestSealData(t *testing.T) {
	t.Parallel()
	k, err := fieldcrypt.New([][]byte{key()})
	if err != nil {
		t.Fatal(err)
	}
	const source, id = "urn:nld:oin:00000009999999990004:systeem:bvh", "s-1"
	plain := []byte(`{"bsn":"999993653","categorie":"overlast"}`)
	sealed, err := k.SealData(source, id, plain, isBSN)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("999993653")) || !bytes.HasSuffix(sealed, []byte(`,"categorie":"overlast"}`)) {
		t.Fatalf("sealed data %s", sealed)
	}
	ev := []byte(`{"specversion":"1.0","id":"` + id + `","source":"` + source + `","data":` + string(sealed) + `}`)
	opened, err := k.Open(ev, isBSN)
	if err != nil || data(t, opened)["bsn"] != "999993653" {
		t.Fatalf("opened %s (%v)", opened, err)
	}
	for _, same := range []string{`{"categorie":"overlast"}`, `"text"`, `null`} {
		if got, err := k.SealData(source, id, []byte(same), isBSN); err != nil || string(got) != same {
			t.Errorf("SealData(%s) = %s, %v; want it unchanged", same, got, err)
		}
	}
	if _, err := k.SealData("", id, plain, isBSN); !errors.Is(err, fieldcrypt.ErrNotEvent) {
		t.Errorf("no source: %v, want ErrNotEvent", err)
	}
}
