package schemas_test

import (
	"errors"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"github.com/ketenbus/ketenbus/schemas"
)

var wantTypes = []string{
	"nl.sociaaldomein.aanmelding.v1",
	"nl.sociaaldomein.bevestiging.v1",
	"nl.sociaaldomein.escalatie.v1",
	"nl.sociaaldomein.overdracht-jeugd-wmo.v1",
	"nl.sociaaldomein.samenloop.v1",
	"nl.sociaaldomein.signaal.v1",
}

func TestTypesMatchFiles(t *testing.T) {
	t.Parallel()
	files, err := fs.Glob(schemas.FS, "*.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var fromFiles []string
	for _, f := range files {
		fromFiles = append(fromFiles, strings.TrimSuffix(f, ".schema.json"))
	}
	got := schemas.Types()
	if !slices.IsSorted(got) {
		t.Errorf("Types() not sorted: %v", got)
	}
	if !slices.Equal(got, fromFiles) {
		t.Errorf("Types() = %v, files give %v", got, fromFiles)
	}
	if !slices.Equal(got, wantTypes) {
		t.Errorf("Types() = %v, want %v", got, wantTypes)
	}
	got[0] = "changed"
	if schemas.Types()[0] == "changed" {
		t.Error("Types() shares its slice with the caller")
	}
}

func TestSchemaAndID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		eventType string
		wantID    string
		wantErr   error
	}{
		{"nl.sociaaldomein.signaal.v1", "https://schemas.ketenbus.nl/nl.sociaaldomein.signaal.v1.schema.json", nil},
		{"nl.sociaaldomein.aanmelding.v1", "https://schemas.ketenbus.nl/nl.sociaaldomein.aanmelding.v1.schema.json", nil},
		{"nl.sociaaldomein.bevestiging.v1", "https://schemas.ketenbus.nl/nl.sociaaldomein.bevestiging.v1.schema.json", nil},
		{"nl.sociaaldomein.overdracht-jeugd-wmo.v1", "https://schemas.ketenbus.nl/nl.sociaaldomein.overdracht-jeugd-wmo.v1.schema.json", nil},
		{"nl.sociaaldomein.escalatie.v1", "https://schemas.ketenbus.nl/nl.sociaaldomein.escalatie.v1.schema.json", nil},
		{"nl.sociaaldomein.samenloop.v1", "https://schemas.ketenbus.nl/nl.sociaaldomein.samenloop.v1.schema.json", nil},
		{"nl.sociaaldomein.onbekend.v1", "", schemas.ErrUnknownType},
		{"", "", schemas.ErrUnknownType},
		{"nl.sociaaldomein.signaal.v1.schema.json", "", schemas.ErrUnknownType},
		{"asyncapi", "", schemas.ErrUnknownType},
	}
	for _, tt := range tests {
		t.Run(tt.eventType, func(t *testing.T) {
			t.Parallel()
			raw, err := schemas.Schema(tt.eventType)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Schema() error = %v, want %v", err, tt.wantErr)
			}
			if got := schemas.SchemaID(tt.eventType); got != tt.wantID {
				t.Errorf("SchemaID() = %q, want %q", got, tt.wantID)
			}
			if tt.wantErr != nil {
				if raw != nil {
					t.Errorf("Schema() returned %d bytes with an error", len(raw))
				}
				return
			}
			file, err := schemas.FS.ReadFile(tt.eventType + ".schema.json")
			if err != nil {
				t.Fatal(err)
			}
			if string(raw) != string(file) {
				t.Error("Schema() differs from the embedded file")
			}
			raw[0] = 'X'
			again, _ := schemas.Schema(tt.eventType)
			if again[0] == 'X' {
				t.Error("Schema() shares its bytes with the caller")
			}
		})
	}
}

func TestAsyncAPIEmbedded(t *testing.T) {
	t.Parallel()
	got := schemas.AsyncAPI()
	if !strings.HasPrefix(string(got), "asyncapi: 3.0.0\n") {
		t.Errorf("AsyncAPI() does not start with the version line: %.40q", got)
	}
}
