package events_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ketenbus/ketenbus/events"
)

// FuzzParseStructured feeds arbitrary bodies to the request parsing and
// validation path. It must never panic, must answer either an event or a
// ValidationError, must never accept a String attribute that CloudEvents
// forbids (a control character, a noncharacter), and a violation must
// never repeat a BSN it was sent.
func FuzzParseStructured(f *testing.F) {
	for _, b := range validSeeds(f) {
		f.Add(b)
	}
	c := events.Default()
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := c.ParseStructured(body)
		if err == nil {
			if p == nil || p.Event.Type() == "" {
				t.Fatal("no error and no event")
			}
			if err := c.Validate(&p.Event); err != nil {
				t.Fatalf("parsed event fails Validate: %v", err)
			}
			var attrs map[string]any
			_ = json.Unmarshal(body, &attrs)
			for name, v := range attrs {
				if s, ok := v.(string); ok && name != "data" {
					if err := events.CheckString(s); err != nil {
						t.Fatalf("accepted %s: %v", name, err)
					}
				}
			}
		} else if !errors.Is(err, events.ErrInvalid) {
			t.Fatalf("error is not a ValidationError: %v", err)
		}
		if err != nil && strings.Contains(err.Error(), "111222333") {
			t.Fatalf("violation repeats a BSN: %v", err)
		}
		_, _ = c.ParseBatch(body)
	})
}

// validSeeds returns the files of testdata/valid by name: one structured
// event or batch each, the seed corpus of FuzzParseStructured.
func validSeeds(tb testing.TB) map[string][]byte {
	tb.Helper()
	files, _ := filepath.Glob("testdata/valid/*.json")
	if len(files) == 0 {
		tb.Fatal("no testdata/valid/*.json")
	}
	seeds := make(map[string][]byte, len(files))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			tb.Fatal(err)
		}
		seeds[name] = b
	}
	return seeds
}

// TestFuzzCorpusParses keeps the seed corpus meaningful: its valid seeds pass.
func TestFuzzCorpusParses(t *testing.T) {
	t.Parallel()
	for name, b := range validSeeds(t) {
		if _, err := events.Default().ParseStructured(b); err != nil {
			if _, err2 := events.Default().ParseBatch(b); err2 != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
	}
}
