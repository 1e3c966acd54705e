package schemas_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/ketenbus/ketenbus/schemas"
)

const asyncAPISchemaFile = "testdata/asyncapi-3.0.0.schema.json"

// asyncAPISchema compiles the official AsyncAPI 3.0.0 JSON Schema.
func asyncAPISchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(asyncAPISchemaFile)
	if err != nil {
		t.Fatalf("open %s (see testdata/README.md): %v", asyncAPISchemaFile, err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("%s: %v", asyncAPISchemaFile, err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	c.UseLoader(noLoader{})
	const url = "https://asyncapi.example/3.0.0.json"
	if err := c.AddResource(url, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(url)
	if err != nil {
		t.Fatalf("compile %s: %v", asyncAPISchemaFile, err)
	}
	return sch
}

// loadYAML decodes YAML into JSON-compatible values (objects with string
// keys, arrays, strings, json.Number, booleans, null).
func loadYAML(t *testing.T, src []byte) map[string]any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(src, &v); err != nil {
		t.Fatalf("asyncapi.yaml: %v", err)
	}
	j, err := toJSON(v)
	if err != nil {
		t.Fatalf("asyncapi.yaml: %v", err)
	}
	b, err := json.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	m, ok := doc.(map[string]any)
	if !ok {
		t.Fatal("asyncapi.yaml is not a mapping")
	}
	return m
}

func toJSON(v any) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			c, err := toJSON(e)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = c
		}
		return out, nil
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			c, err := toJSON(e)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = c
		}
		return out, nil
	case nil, string, bool, int, int64, uint64, float64:
		return v, nil
	default:
		return nil, fmt.Errorf("value of type %T has no JSON form (quote it)", v)
	}
}

func TestAsyncAPIValid(t *testing.T) {
	t.Parallel()
	sch := asyncAPISchema(t)
	doc := loadYAML(t, schemas.AsyncAPI())
	if err := sch.Validate(doc); err != nil {
		t.Fatalf("asyncapi.yaml is not valid AsyncAPI 3.0.0:\n%v", err)
	}
}

// TestAsyncAPIBrokenFails proves that the validation catches mistakes.
func TestAsyncAPIBrokenFails(t *testing.T) {
	t.Parallel()
	sch := asyncAPISchema(t)
	tests := []struct {
		name    string
		breakIt func(doc map[string]any)
	}{
		{"wrong version", func(doc map[string]any) { doc["asyncapi"] = "2.6.0" }},
		{"info without title", func(doc map[string]any) { delete(doc["info"].(map[string]any), "title") }},
		{"unknown root field", func(doc map[string]any) { doc["endpoints"] = map[string]any{} }},
		{"server without protocol", func(doc map[string]any) {
			delete(doc["servers"].(map[string]any)["gateway"].(map[string]any), "protocol")
		}},
		{"operation with bad action", func(doc map[string]any) {
			doc["operations"].(map[string]any)["publishEvents"].(map[string]any)["action"] = "publish"
		}},
		{"bad http method", func(doc map[string]any) {
			op := doc["operations"].(map[string]any)["deliverWebhook"].(map[string]any)
			op["bindings"].(map[string]any)["http"].(map[string]any)["method"] = "SEND"
		}},
		{"message with unknown field", func(doc map[string]any) {
			msgs := doc["components"].(map[string]any)["messages"].(map[string]any)
			msgs["signaal"].(map[string]any)["schema"] = "x"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc := loadYAML(t, schemas.AsyncAPI())
			tt.breakIt(doc)
			if err := sch.Validate(doc); err == nil {
				t.Error("broken document validated")
			}
		})
	}
}

// TestAsyncAPIRefsResolve checks every $ref: a fragment must point into the
// document, a file reference to an embedded file (and its fragment into it).
func TestAsyncAPIRefsResolve(t *testing.T) {
	t.Parallel()
	doc := loadYAML(t, schemas.AsyncAPI())
	referenced := map[string]bool{}
	var refs int
	walk("", doc, func(ptr string, obj map[string]any) {
		ref, ok := obj["$ref"].(string)
		if !ok {
			return
		}
		refs++
		file, frag, _ := strings.Cut(ref, "#")
		target := any(doc)
		if file != "" {
			name := strings.TrimPrefix(file, "./")
			if strings.Contains(name, "/") {
				t.Errorf("%s: $ref %q is not a file next to asyncapi.yaml", ptr, ref)
				return
			}
			raw, err := fs.ReadFile(schemas.FS, name)
			if err != nil {
				t.Errorf("%s: $ref %q: %v", ptr, ref, err)
				return
			}
			if err := json.Unmarshal(raw, &target); err != nil {
				t.Errorf("%s: $ref %q: %v", ptr, ref, err)
				return
			}
			referenced[strings.TrimSuffix(name, ".schema.json")] = true
		}
		if _, err := resolvePointer(target, frag); err != nil {
			t.Errorf("%s: $ref %q: %v", ptr, ref, err)
		}
	})
	if refs == 0 {
		t.Fatal("no $ref found")
	}
	for _, eventType := range schemas.Types() {
		if !referenced[eventType] {
			t.Errorf("asyncapi.yaml does not reference the schema of %s", eventType)
		}
	}
}

func resolvePointer(v any, ptr string) (any, error) {
	if ptr == "" {
		return v, nil
	}
	if !strings.HasPrefix(ptr, "/") {
		return nil, fmt.Errorf("fragment %q is not a JSON pointer", ptr)
	}
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		switch c := v.(type) {
		case map[string]any:
			next, ok := c[tok]
			if !ok {
				return nil, fmt.Errorf("no %q", tok)
			}
			v = next
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil, fmt.Errorf("no index %q", tok)
			}
			v = c[i]
		default:
			return nil, fmt.Errorf("cannot descend into %q", tok)
		}
	}
	return v, nil
}
