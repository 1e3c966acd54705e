package schemas_test

import (
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/ketenbus/ketenbus/schemas"
)

func TestSchemasCompileAndExamplesValidate(t *testing.T) {
	t.Parallel()
	forEachSchema(t, func(t *testing.T, _ string, sch *jsonschema.Schema, doc map[string]any) {
		examples, ok := doc["examples"].([]any)
		if !ok || len(examples) == 0 {
			t.Fatal("schema has no examples")
		}
		for i, ex := range examples {
			if err := sch.Validate(ex); err != nil {
				t.Errorf("examples[%d] is invalid: %v", i, err)
			}
		}
	})
}

func TestSchemaHeader(t *testing.T) {
	t.Parallel()
	forEachSchema(t, func(t *testing.T, eventType string, _ *jsonschema.Schema, doc map[string]any) {
		want := map[string]any{
			"$schema":              "https://json-schema.org/draft/2020-12/schema",
			"$id":                  "https://schemas.ketenbus.nl/" + eventType + ".schema.json",
			"type":                 "object",
			"additionalProperties": false,
		}
		for k, v := range want {
			if doc[k] != v {
				t.Errorf("%s = %v, want %v", k, doc[k], v)
			}
		}
		if s, _ := doc["title"].(string); s == "" {
			t.Error("title is missing")
		}
		desc, _ := doc["description"].(string)
		for _, part := range []string{"`time`", "logged", "NL GOV", "`subject`", "pseudonym"} {
			if !strings.Contains(desc, part) {
				t.Errorf("description does not mention %s", part)
			}
		}
		if req, _ := doc["required"].([]any); len(req) == 0 {
			t.Error("required is missing")
		}
	})
}

// TestObjectsAreClosed checks that every object schema forbids unknown
// properties and that no schema refers to another file.
func TestObjectsAreClosed(t *testing.T) {
	t.Parallel()
	forEachSchema(t, func(t *testing.T, _ string, _ *jsonschema.Schema, doc map[string]any) {
		walk("", doc, func(ptr string, obj map[string]any) {
			if strings.HasPrefix(ptr, "/examples") {
				return
			}
			if obj["type"] == "object" && obj["additionalProperties"] != false {
				t.Errorf("%s: object schema without additionalProperties: false", ptr)
			}
			if ref, ok := obj["$ref"].(string); ok && !strings.HasPrefix(ref, "#/$defs/") {
				t.Errorf("%s: $ref %q leaves the file", ptr, ref)
			}
		})
	})
}

// TestBSNFields checks every bsn property: sensitive, nine digits, format bsn,
// and an x-message; and that no other property is marked sensitive.
func TestBSNFields(t *testing.T) {
	t.Parallel()
	forEachSchema(t, func(t *testing.T, _ string, _ *jsonschema.Schema, doc map[string]any) {
		walk("", doc, func(ptr string, obj map[string]any) {
			props, ok := obj["properties"].(map[string]any)
			if !ok || strings.HasPrefix(ptr, "/examples") {
				return
			}
			for name, p := range props {
				prop, _ := p.(map[string]any)
				at := ptr + "/properties/" + name
				if name != "bsn" {
					if prop["x-sensitive"] != nil {
						t.Errorf("%s: only bsn is marked x-sensitive", at)
					}
					continue
				}
				if prop["x-sensitive"] != true {
					t.Errorf("%s: x-sensitive is not true", at)
				}
				if prop["type"] != "string" || prop["pattern"] != "^[0-9]{9}$" || prop["format"] != "bsn" {
					t.Errorf("%s: want type string, pattern ^[0-9]{9}$, format bsn; got %v", at, prop)
				}
				if prop["x-message"] != "bsn must be 9 digits that pass the elfproef (11-test)" {
					t.Errorf("%s: x-message = %v", at, prop["x-message"])
				}
			}
		})
	})
}

// TestOneOfCarriesMessage checks that every oneOf has an x-message and sits
// in a schema object of its own, so the message covers only the oneOf.
func TestOneOfCarriesMessage(t *testing.T) {
	t.Parallel()
	forEachSchema(t, func(t *testing.T, _ string, _ *jsonschema.Schema, doc map[string]any) {
		walk("", doc, func(ptr string, obj map[string]any) {
			if _, ok := obj["oneOf"]; !ok {
				return
			}
			if m, _ := obj["x-message"].(string); m == "" {
				t.Errorf("%s: oneOf without x-message", ptr)
			}
			for k := range obj {
				switch k {
				case "oneOf", "x-message", "description":
				default:
					t.Errorf("%s: keyword %q shares the schema object of a oneOf", ptr, k)
				}
			}
		})
	})
}

func TestTestBSNs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		bsn  string
		want bool
	}{
		{"111222333", true},
		{"123456782", true},
		{"123456789", false},
		{"12345678", false},
		{"12345678a", false},
	}
	for _, tt := range tests {
		if got := elfproef(tt.bsn); got != tt.want {
			t.Errorf("elfproef(%q) = %v, want %v", tt.bsn, got, tt.want)
		}
	}
}

// mutation changes a copy of a valid data object into an invalid one.
type mutation struct {
	name   string
	mutate func(m map[string]any)
}

func del(path ...string) func(map[string]any) {
	return func(m map[string]any) { delete(at(m, path[:len(path)-1]), path[len(path)-1]) }
}

func set(value any, path ...string) func(map[string]any) {
	return func(m map[string]any) { at(m, path[:len(path)-1])[path[len(path)-1]] = value }
}

func at(m map[string]any, path []string) map[string]any {
	for _, p := range path {
		m = m[p].(map[string]any)
	}
	return m
}

var contactpersoonMutations = []mutation{
	{"contactpersoon without naam", del("contactpersoon", "naam")},
	{"contactpersoon with empty naam", set("", "contactpersoon", "naam")},
	{"contactpersoon with unknown property", set("x", "contactpersoon", "functie")},
	{"telefoon with letters", set("bel 06-12345678", "contactpersoon", "telefoon")},
	{"telefoon too long", set(strings.Repeat("0", 31), "contactpersoon", "telefoon")},
	{"email not an address", set("geen-adres", "contactpersoon", "email")},
}

var bsnMutations = []mutation{
	{"missing bsn", del("bsn")},
	{"bsn failing the elfproef", set("123456789", "bsn")},
	{"bsn with 8 digits", set("12345678", "bsn")},
	{"bsn as number", set(111222333, "bsn")},
}

var invalid = map[string][]mutation{
	"nl.sociaaldomein.signaal.v1": append(append([]mutation{
		{"missing categorie", del("categorie")},
		{"missing urgentie", del("urgentie")},
		{"missing contactpersoon", del("contactpersoon")},
		{"unknown property", set("x", "naam")},
		{"bad categorie", set("diefstal", "categorie")},
		{"bad urgentie", set("spoed", "urgentie")},
		{"toelichting too long", set(strings.Repeat("x", 2001), "toelichting")},
	}, bsnMutations...), contactpersoonMutations...),
	"nl.sociaaldomein.aanmelding.v1": append(append([]mutation{
		{"missing ontvanger", del("ontvanger")},
		{"missing reden", del("reden")},
		{"empty reden", set("", "reden")},
		{"missing contactpersoon", del("contactpersoon")},
		{"unknown property", set("x", "categorie")},
		{"ontvanger not a partner id", set("Veilig Thuis", "ontvanger")},
		{"both reactietermijn and uiterlijk", set("2026-03-02T17:00:00+01:00", "uiterlijk")},
		{"neither reactietermijn nor uiterlijk", del("reactietermijn")},
		{"werkdagen zero", set(0, "reactietermijn", "werkdagen")},
		{"werkdagen above 260", set(261, "reactietermijn", "werkdagen")},
		{"werkdagen fractional", set(2.5, "reactietermijn", "werkdagen")},
		{"reactietermijn without werkdagen", del("reactietermijn", "werkdagen")},
		{"reactietermijn with unknown property", set(3, "reactietermijn", "dagen")},
		{"uiterlijk not a date-time", func(m map[string]any) {
			delete(m, "reactietermijn")
			m["uiterlijk"] = "2 maart 2026"
		}},
	}, bsnMutations...), contactpersoonMutations...),
	"nl.sociaaldomein.bevestiging.v1": {
		{"missing betreft", del("betreft")},
		{"missing status", del("status")},
		{"unknown property", set("x", "ontvanger")},
		{"bad status", set("gelezen", "status")},
		{"betreft without id", del("betreft", "id")},
		{"betreft without source", del("betreft", "source")},
		{"betreft with empty id", set("", "betreft", "id")},
		{"betreft with unknown property", set("x", "betreft", "subject")},
		{"toelichting too long", set(strings.Repeat("x", 2001), "toelichting")},
	},
	"nl.sociaaldomein.overdracht-jeugd-wmo.v1": append(append([]mutation{
		{"missing geboortedatum", del("geboortedatum")},
		{"missing ontvanger", del("ontvanger")},
		{"missing voorzieningen", del("voorzieningen")},
		{"missing contactpersoon", del("contactpersoon")},
		{"unknown property", set("x", "naam")},
		{"geboortedatum not a date", set("14-09-2008", "geboortedatum")},
		{"voorzieningen null", set(nil, "voorzieningen")},
		{"voorziening without soort", set([]any{map[string]any{"einddatum": "2026-09-13"}}, "voorzieningen")},
		{"voorziening with unknown property", set([]any{map[string]any{"soort": "x", "aanbieder": "y"}}, "voorzieningen")},
		{"voorziening with bad einddatum", set([]any{map[string]any{"soort": "x", "einddatum": "morgen"}}, "voorzieningen")},
	}, bsnMutations...), contactpersoonMutations...),
	"nl.sociaaldomein.escalatie.v1": {
		{"missing betreft", del("betreft")},
		{"missing ontvanger", del("ontvanger")},
		{"missing niveau", del("niveau")},
		{"missing reden", del("reden")},
		{"missing termijn", del("termijn")},
		{"unknown property", set("111222333", "bsn")},
		{"betreft without type", del("betreft", "type")},
		{"negative niveau", set(-1, "niveau")},
		{"fractional niveau", set(1.5, "niveau")},
		{"bad reden", set("vergeten", "reden")},
		{"termijn not a date-time", set("2026-03-02", "termijn")},
		{"ontvanger not a partner id", set("ZVH", "ontvanger")},
	},
	"nl.sociaaldomein.samenloop.v1": {
		{"missing ontvanger", del("ontvanger")},
		{"missing regievoerder", del("regievoerder")},
		{"missing betrokkenen", del("betrokkenen")},
		{"empty betrokkenen", set([]any{}, "betrokkenen")},
		{"unknown property carrying signal data", set("verward-gedrag", "categorie")},
		{"betrokkene with signal data", func(m map[string]any) {
			b := m["betrokkenen"].([]any)[0].(map[string]any)
			b["toelichting"] = "x"
		}},
		{"betrokkene without contactpersoon", func(m map[string]any) {
			delete(m["betrokkenen"].([]any)[0].(map[string]any), "contactpersoon")
		}},
		{"betrokkene without gesignaleerd_op", func(m map[string]any) {
			delete(m["betrokkenen"].([]any)[0].(map[string]any), "gesignaleerd_op")
		}},
		{"signaal reference without id", set([]any{map[string]any{"source": "urn:nld:kvknr:12345678"}}, "signalen")},
		{"regievoerder not a partner id", set("zvh groningen", "regievoerder")},
	},
}

func TestInvalidDataFails(t *testing.T) {
	t.Parallel()
	for _, eventType := range schemas.Types() {
		muts, ok := invalid[eventType]
		if !ok || len(muts) < 5 {
			t.Errorf("%s: too few invalid documents in the test table", eventType)
			continue
		}
		sch, doc := compile(t, eventType)
		base := doc["examples"].([]any)[0]
		for _, mt := range muts {
			t.Run(eventType+"/"+mt.name, func(t *testing.T) {
				t.Parallel()
				m := clone(t, base)
				mt.mutate(m)
				if err := sch.Validate(instance(t, m)); err == nil {
					t.Errorf("validated, want a violation: %v", m)
				}
			})
		}
	}
}
