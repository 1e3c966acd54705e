package events

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"

	"github.com/ketenbus/ketenbus/schemas"
)

// Catalog validates events against the JSON Schemas of the schemas module
// and the NL GOV profile rules. It is safe for concurrent use.
type Catalog struct {
	types    map[string]*typeInfo
	messages map[string]string // schema location -> x-message
}

type typeInfo struct {
	schema    *jsonschema.Schema
	fields    []string
	sensitive []string
	ontvanger bool // data has a top-level ontvanger
	bsn       bool // data has a top-level bsn
}

var defaultCatalog = sync.OnceValues(NewCatalog)

// Default returns the catalog compiled from the embedded schemas. It panics
// if they do not compile, which a test of this module rules out.
func Default() *Catalog {
	c, err := defaultCatalog()
	if err != nil {
		panic(err)
	}
	return c
}

// NewCatalog compiles the embedded schemas of every catalog type.
func NewCatalog() (*Catalog, error) {
	comp := jsonschema.NewCompiler()
	comp.DefaultDraft(jsonschema.Draft2020)
	comp.AssertFormat()
	comp.RegisterFormat(&jsonschema.Format{Name: "bsn", Validate: func(v any) error {
		if s, ok := v.(string); ok && !ValidBSN(s) {
			return errors.New("not a BSN")
		}
		return nil
	}})
	c := &Catalog{types: map[string]*typeInfo{}, messages: map[string]string{}}
	for _, t := range Types() {
		raw, err := schemas.Schema(t)
		if err != nil {
			return nil, fmt.Errorf("schema of %s: %w", t, err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("schema of %s: %w", t, err)
		}
		url := schemas.SchemaID(t)
		if err := comp.AddResource(url, doc); err != nil {
			return nil, fmt.Errorf("schema of %s: %w", t, err)
		}
		sch, err := comp.Compile(url)
		if err != nil {
			return nil, fmt.Errorf("schema of %s: %w", t, err)
		}
		info := &typeInfo{schema: sch}
		if obj, ok := doc.(map[string]any); ok {
			props, _ := obj["properties"].(map[string]any)
			for name, p := range props {
				info.fields = append(info.fields, name)
				if pm, ok := p.(map[string]any); ok && pm["x-sensitive"] == true {
					info.sensitive = append(info.sensitive, name)
				}
			}
			sort.Strings(info.fields)
			sort.Strings(info.sensitive)
			_, info.ontvanger = props["ontvanger"]
			_, info.bsn = props["bsn"]
		}
		collectMessages(url+"#", doc, c.messages)
		c.types[t] = info
	}
	return c, nil
}

// collectMessages records the x-message of every schema object by location.
func collectMessages(loc string, v any, into map[string]string) {
	switch v := v.(type) {
	case map[string]any:
		if m, ok := v["x-message"].(string); ok {
			into[loc] = m
		}
		for k, child := range v {
			collectMessages(loc+"/"+pointerEscape(k), child, into)
		}
	case []any:
		for i, child := range v {
			collectMessages(fmt.Sprintf("%s/%d", loc, i), child, into)
		}
	}
}

// Fields returns the top-level data fields of event type t, sorted.
func (c *Catalog) Fields(t string) []string {
	if info, ok := c.types[t]; ok {
		return append([]string(nil), info.fields...)
	}
	return nil
}

// SensitiveFields returns the top-level data fields the schema of t marks
// "x-sensitive" (at least bsn), sorted.
func (c *Catalog) SensitiveFields(t string) []string {
	if info, ok := c.types[t]; ok {
		return append([]string(nil), info.sensitive...)
	}
	return nil
}

// HasOntvanger reports whether the data of t names its ontvanger.
func (c *Catalog) HasOntvanger(t string) bool {
	info, ok := c.types[t]
	return ok && info.ontvanger
}

// ValidateData checks data (a JSON document) against the schema of type t
// and returns it decoded. Violations point below "/data". The error is a
// *ValidationError; unknown types are violations too.
func (c *Catalog) ValidateData(t string, data []byte) (map[string]any, error) {
	var vs violations
	m := c.validateData(t, data, &vs)
	return m, vs.err()
}

func (c *Catalog) validateData(t string, data []byte, vs *violations) map[string]any {
	var doc any
	if len(bytes.TrimSpace(data)) > 0 {
		var err error
		if doc, err = jsonschema.UnmarshalJSON(bytes.NewReader(data)); err != nil {
			vs.add("/data", "data is not valid JSON")
			return nil
		}
	}
	return c.validateValue(t, doc, doc != nil, vs)
}

// validateValue checks decoded data (as jsonv2 or jsonschema decode it) against the
// schema of t.
func (c *Catalog) validateValue(t string, doc any, present bool, vs *violations) map[string]any {
	info, ok := c.types[t]
	if !ok {
		vs.add("/type", unknownTypeDetail(t))
		return nil
	}
	if !present {
		vs.add("/data", "data is missing: every event of "+t+" carries a JSON object")
		return nil
	}
	m, ok := doc.(map[string]any)
	if !ok {
		vs.add("/data", "data must be a JSON object")
		return nil
	}
	if err := info.schema.Validate(doc); err != nil {
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			c.schemaViolations(ve, vs)
		} else {
			vs.add("/data", "data does not match the schema of "+t)
		}
	}
	return m
}

// schemaViolations flattens a schema validation error into violations. A
// schema object with an x-message speaks for every failure below it.
func (c *Catalog) schemaViolations(ve *jsonschema.ValidationError, vs *violations) {
	base := "/data" + pointerOf(ve.InstanceLocation)
	if msg, ok := c.messages[ve.SchemaURL]; ok {
		vs.add(base, msg)
		return
	}
	if len(ve.Causes) > 0 {
		for _, cause := range ve.Causes {
			c.schemaViolations(cause, vs)
		}
		return
	}
	field := "data"
	if n := len(ve.InstanceLocation); n > 0 {
		field = ve.InstanceLocation[n-1]
	}
	switch k := ve.ErrorKind.(type) {
	case *kind.Required:
		for _, m := range k.Missing {
			vs.add(base+"/"+pointerEscape(m), m+" is required")
		}
	case *kind.AdditionalProperties:
		for _, p := range k.Properties {
			vs.add(base+"/"+pointerEscape(p), p+" is not a field of this event type; remove it")
		}
	case *kind.Type:
		vs.add(base, fmt.Sprintf("%s must be %s, not %s", field, strings.Join(k.Want, " or "), k.Got))
	case *kind.Enum:
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			want[i] = fmt.Sprint(w)
		}
		vs.add(base, fmt.Sprintf("%s must be one of: %s", field, strings.Join(want, ", ")))
	case *kind.MinLength:
		vs.add(base, fmt.Sprintf("%s must be at least %d characters", field, k.Want))
	case *kind.MaxLength:
		vs.add(base, fmt.Sprintf("%s must be at most %d characters (it has %d)", field, k.Want, k.Got))
	case *kind.Pattern:
		vs.add(base, fmt.Sprintf("%s does not match the pattern %s", field, k.Want))
	case *kind.Format:
		vs.add(base, fmt.Sprintf("%s must be a valid %s", field, formatName(k.Want)))
	case *kind.Minimum:
		vs.add(base, fmt.Sprintf("%s must be at least %s", field, ratString(k.Want)))
	case *kind.Maximum:
		vs.add(base, fmt.Sprintf("%s must be at most %s", field, ratString(k.Want)))
	case *kind.MinItems:
		vs.add(base, fmt.Sprintf("%s must have at least %d items", field, k.Want))
	case *kind.MaxItems:
		vs.add(base, fmt.Sprintf("%s must have at most %d items", field, k.Want))
	default:
		kw := strings.Join(ve.ErrorKind.KeywordPath(), "/")
		vs.add(base, fmt.Sprintf("%s does not satisfy the schema (%s)", field, kw))
	}
}

func formatName(f string) string {
	switch f {
	case "date-time":
		return "RFC 3339 date-time such as 2026-03-31T17:00:00+02:00"
	case "date":
		return "date such as 2008-02-29"
	case "bsn":
		return "BSN (9 digits passing the elfproef)"
	case "email":
		return "e-mail address"
	}
	return f
}

func ratString(r *big.Rat) string {
	if r == nil {
		return "?"
	}
	if r.IsInt() {
		return r.Num().String()
	}
	return r.FloatString(3)
}

func unknownTypeDetail(t string) string {
	if t == "" {
		return "type is missing: use one of " + strings.Join(Types(), ", ")
	}
	return "type is not in the ketenbus catalog; use one of " + strings.Join(Types(), ", ")
}

// validExtensionName reports whether name may name an extension
// attribute: lowercase letters a-z and digits 0-9, at most 20 characters.
// The router asks it for every member of an event it filters, so it is a
// loop, not a regular expression.
func validExtensionName(name string) bool {
	if name == "" || len(name) > 20 {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// looksLikeBSN reports whether an attribute value is a BSN: nine digits
// passing the elfproef, alone (surrounding spaces ignored).
func looksLikeBSN(s string) bool {
	return ValidBSN(strings.TrimSpace(s))
}
