package events_test

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/schemas"
)

// TestTypesMatchSchemas keeps the Go data types identical to the JSON
// Schemas: the same fields at every level, required exactly where the Go
// field has no omitempty.
func TestTypesMatchSchemas(t *testing.T) {
	t.Parallel()
	goTypes := map[string]any{
		events.TypeSignaal:            events.Signaal{},
		events.TypeAanmelding:         events.Aanmelding{},
		events.TypeBevestiging:        events.Bevestiging{},
		events.TypeOverdrachtJeugdWmo: events.OverdrachtJeugdWmo{},
		events.TypeEscalatie:          events.Escalatie{},
		events.TypeSamenloop:          events.Samenloop{},
	}
	if got, want := len(goTypes), len(schemas.Types()); got != want {
		t.Fatalf("%d Go types for %d schemas", got, want)
	}
	for typ, v := range goTypes {
		t.Run(typ, func(t *testing.T) {
			raw, err := schemas.Schema(typ)
			if err != nil {
				t.Fatal(err)
			}
			var root map[string]any
			if err := json.Unmarshal(raw, &root); err != nil {
				t.Fatal(err)
			}
			compare(t, typ, root, root, reflect.TypeOf(v))
		})
	}
}

func resolve(root, s map[string]any) map[string]any {
	if ref, ok := s["$ref"].(string); ok && strings.HasPrefix(ref, "#/$defs/") {
		defs := root["$defs"].(map[string]any)
		merged := map[string]any{}
		for k, v := range resolve(root, defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)) {
			merged[k] = v
		}
		for k, v := range s {
			if k == "required" {
				continue // a local required narrows the definition
			}
			merged[k] = v
		}
		return merged
	}
	return s
}

var timeType = reflect.TypeOf(time.Time{})

func compare(t *testing.T, path string, root, s map[string]any, gt reflect.Type) {
	t.Helper()
	for gt.Kind() == reflect.Pointer {
		gt = gt.Elem()
	}
	s = resolve(root, s)
	switch {
	case gt == timeType:
		if s["type"] != "string" || (s["format"] != "date-time") {
			t.Errorf("%s: Go time.Time but schema is %v/%v", path, s["type"], s["format"])
		}
	case gt.Kind() == reflect.Struct:
		props, _ := s["properties"].(map[string]any)
		var schemaFields, goFields, schemaReq, goReq []string
		for name := range props {
			schemaFields = append(schemaFields, name)
		}
		if req, ok := s["required"].([]any); ok {
			for _, r := range req {
				schemaReq = append(schemaReq, r.(string))
			}
		}
		for i := 0; i < gt.NumField(); i++ {
			f := gt.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			goFields = append(goFields, name)
			if !strings.Contains(opts, "omitempty") {
				goReq = append(goReq, name)
			}
			if p, ok := props[name].(map[string]any); ok {
				compare(t, path+"."+name, root, p, f.Type)
			}
		}
		sort.Strings(schemaFields)
		sort.Strings(goFields)
		sort.Strings(schemaReq)
		sort.Strings(goReq)
		if !reflect.DeepEqual(schemaFields, goFields) {
			t.Errorf("%s: schema fields %v, Go fields %v", path, schemaFields, goFields)
		}
		if !reflect.DeepEqual(schemaReq, goReq) {
			t.Errorf("%s: schema requires %v, Go requires (no omitempty) %v", path, schemaReq, goReq)
		}
	case gt.Kind() == reflect.Slice:
		if s["type"] != "array" {
			t.Errorf("%s: Go slice but schema type %v", path, s["type"])
			return
		}
		items, _ := s["items"].(map[string]any)
		compare(t, path+"[]", root, items, gt.Elem())
	case gt.Kind() == reflect.String:
		if s["type"] != "string" {
			t.Errorf("%s: Go string but schema type %v", path, s["type"])
		}
	case gt.Kind() == reflect.Int:
		if s["type"] != "integer" {
			t.Errorf("%s: Go int but schema type %v", path, s["type"])
		}
	default:
		t.Errorf("%s: Go kind %s not compared", path, gt.Kind())
	}
}
