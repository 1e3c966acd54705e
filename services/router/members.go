package router

import (
	"bytes"
	"errors"
	"sync"

	"github.com/go-json-experiment/json/jsontext"
)

// member is one member of a JSON object: its name and its value, exactly
// as it stands in the input.
type member struct {
	name  string
	value jsontext.Value
}

var decoders = sync.Pool{New: func() any { return jsontext.NewDecoder(bytes.NewReader(nil)) }}

var errNotObject = errors.New("not a JSON object")

// members splits a JSON object into its members in input order, without
// decoding the values: each value is a slice of b. The input is fully
// validated.
func members(b []byte) ([]member, error) {
	dec := decoders.Get().(*jsontext.Decoder)
	defer decoders.Put(dec)
	dec.Reset(bytes.NewReader(b))
	tok, err := dec.ReadToken()
	if err != nil {
		return nil, err
	}
	if tok.Kind() != '{' {
		return nil, errNotObject
	}
	out := make([]member, 0, 12)
	for dec.PeekKind() != '}' {
		tok, err := dec.ReadToken()
		if err != nil {
			return nil, err
		}
		name := tok.String() // before the next read voids tok
		start := dec.InputOffset()
		if _, err := dec.ReadValue(); err != nil {
			return nil, err
		}
		v := bytes.TrimLeft(b[start:dec.InputOffset()], " \t\r\n:")
		out = append(out, member{name: name, value: v})
	}
	if _, err := dec.ReadToken(); err != nil {
		return nil, err
	}
	if _, err := dec.ReadToken(); err == nil {
		return nil, errors.New("data after the JSON object")
	}
	return out, nil
}

// lookup returns the value of the member called name, nil when absent.
func lookup(ms []member, name string) jsontext.Value {
	for i := range ms {
		if ms[i].name == name {
			return ms[i].value
		}
	}
	return nil
}
