package schemas_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/ketenbus/ketenbus/schemas"
)

// forEachSchema runs check on every event type's compiled schema and
// document, each in a parallel subtest named after the event type.
func forEachSchema(t *testing.T, check func(t *testing.T, eventType string, sch *jsonschema.Schema, doc map[string]any)) {
	t.Helper()
	for _, eventType := range schemas.Types() {
		t.Run(eventType, func(t *testing.T) {
			t.Parallel()
			sch, doc := compile(t, eventType)
			check(t, eventType, sch, doc)
		})
	}
}

// elfproef reports whether s is nine digits passing the 11-test of a BSN.
func elfproef(s string) bool {
	if len(s) != 9 {
		return false
	}
	sum := 0
	for i := range 9 {
		d := int(s[i]) - '0'
		if d < 0 || d > 9 {
			return false
		}
		if i == 8 {
			sum -= d
		} else {
			sum += (9 - i) * d
		}
	}
	return sum%11 == 0
}

// bsnFormat is the custom "bsn" format the schemas use.
var bsnFormat = &jsonschema.Format{Name: "bsn", Validate: func(v any) error {
	s, ok := v.(string)
	if !ok {
		return nil // the type keyword reports non-strings
	}
	if !elfproef(s) {
		return errors.New("not a BSN (elfproef)")
	}
	return nil
}}

// compile compiles the schema of one event type with a fresh compiler that
// knows only that file, so a reference to another file fails.
func compile(t *testing.T, eventType string) (*jsonschema.Schema, map[string]any) {
	t.Helper()
	raw, err := schemas.Schema(eventType)
	if err != nil {
		t.Fatalf("Schema(%q): %v", eventType, err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("%s: not JSON: %v", eventType, err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.RegisterFormat(bsnFormat)
	c.UseLoader(noLoader{})
	id := schemas.SchemaID(eventType)
	if err := c.AddResource(id, doc); err != nil {
		t.Fatalf("%s: add resource: %v", eventType, err)
	}
	sch, err := c.Compile(id)
	if err != nil {
		t.Fatalf("%s: compile: %v", eventType, err)
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		t.Fatalf("%s: schema is not a JSON object", eventType)
	}
	return sch, obj
}

// noLoader refuses to load anything: every schema must be self-contained.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, errors.New("schemas must be self-contained; refused to load " + url)
}

// instance decodes a JSON document the way the validator expects it.
func instance(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// clone deep-copies a JSON value.
func clone(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// walk calls fn for every JSON object in v with its JSON pointer.
func walk(ptr string, v any, fn func(ptr string, obj map[string]any)) {
	switch v := v.(type) {
	case map[string]any:
		fn(ptr, v)
		for k, child := range v {
			walk(ptr+"/"+k, child, fn)
		}
	case []any:
		for i, child := range v {
			walk(ptr+"/"+itoa(i), child, fn)
		}
	}
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}
