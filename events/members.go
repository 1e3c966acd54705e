package events

// The one reader of a stored event: a JSON object split into its members
// without decoding their values, so ketenbus can read or replace a few
// members and write the rest back exactly as they were sent.

import (
	"bytes"
	"errors"
	"sync"

	"github.com/go-json-experiment/json/jsontext"
)

// Member is one member of a JSON object: its name and its value, exactly
// as it stands in the input.
type Member struct {
	Name  string
	Value jsontext.Value
}

// reader is a decoder with the buffer it reads: a decoder reads a
// bytes.Buffer in place, without copying it.
type reader struct {
	dec *jsontext.Decoder
	in  bytes.Buffer
}

var readers = sync.Pool{New: func() any { return &reader{dec: jsontext.NewDecoder(bytes.NewReader(nil))} }}

// ErrNotObject means the input is JSON but not an object.
var ErrNotObject = errors.New("not a JSON object")

// Members splits a JSON object into its members in input order, without
// decoding the values: each value is a slice of b. The input is validated
// as JSON, but duplicate member names are not looked for: ketenbus reads
// events it stored, and the gateway rejected duplicate names at any depth
// before storing them; that check would be about half the work of reading
// an event. A duplicate name that got in anyway comes back as two members.
func Members(b []byte) ([]Member, error) {
	return AppendMembers(make([]Member, 0, 16), b)
}

// AppendMembers is Members appending to dst: a caller that keeps the
// members only while it reads b can pass an array of its own and cost no
// allocation.
func AppendMembers(dst []Member, b []byte) ([]Member, error) {
	r := readers.Get().(*reader)
	defer func() {
		// Keep nothing of b alive in the pool: it may be an opened event.
		r.in = bytes.Buffer{}
		r.dec.Reset(&r.in)
		readers.Put(r)
	}()
	r.in = *bytes.NewBuffer(b)
	dec := r.dec
	dec.Reset(&r.in, jsontext.AllowDuplicateNames(true))
	tok, err := dec.ReadToken()
	if err != nil {
		return nil, err
	}
	if tok.Kind() != '{' {
		return nil, ErrNotObject
	}
	out := dst
	for dec.PeekKind() != '}' {
		raw, err := dec.ReadValue() // the name, quoted
		if err != nil {
			return nil, err
		}
		name := Text(raw) // before the next read voids raw
		start := dec.InputOffset()
		if _, err := dec.ReadValue(); err != nil {
			return nil, err
		}
		v := bytes.TrimLeft(b[start:dec.InputOffset()], " \t\r\n:")
		out = append(out, Member{Name: name, Value: v})
	}
	if _, err := dec.ReadToken(); err != nil {
		return nil, err
	}
	if _, err := dec.ReadToken(); err == nil {
		return nil, errors.New("data after the JSON object")
	}
	return out, nil
}

// Text returns a JSON string's text, "" for any other value. The names
// and types of the catalog cost no allocation.
func Text(v jsontext.Value) string {
	if len(v) < 2 || v[0] != '"' {
		return ""
	}
	if inner := v[1 : len(v)-1]; bytes.IndexByte(inner, '\\') < 0 {
		if s, ok := knownText()[string(inner)]; ok {
			return s
		}
		return string(inner)
	}
	s, err := jsontext.AppendUnquote(nil, v)
	if err != nil {
		return ""
	}
	return string(s)
}

// knownText holds the strings most events repeat: the context attribute
// names, the catalog's types and their data field names.
var knownText = sync.OnceValue(func() map[string]string {
	m := map[string]string{}
	add := func(s string) { m[s] = s }
	for _, a := range []string{"specversion", "id", "source", "type", "subject", "time", "datacontenttype",
		"dataschema", "data", "data_base64", "sequence", ExtensionOntvanger} {
		add(a)
	}
	cat := Default()
	for _, t := range Types() {
		add(t)
		for _, f := range cat.Fields(t) {
			add(f)
		}
	}
	return m
})

// LookupText returns the text of the member called name when it is a JSON
// string (see Text), "" otherwise.
func LookupText(ms []Member, name string) string {
	return Text(Lookup(ms, name))
}

// Lookup returns the value of the member called name, nil when absent.
func Lookup(ms []Member, name string) jsontext.Value {
	for i := range ms {
		if ms[i].Name == name {
			return ms[i].Value
		}
	}
	return nil
}
