package schemas

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
)

// FS holds the embedded JSON Schemas (one <event type>.schema.json per event
// type) and asyncapi.yaml, all at the root of the file system.
//
//go:embed *.schema.json asyncapi.yaml
var FS embed.FS

// ErrUnknownType is returned by Schema for an event type that has no schema.
var ErrUnknownType = errors.New("schemas: unknown event type")

const schemaSuffix = ".schema.json"

// catalog is read once from FS at package initialisation; FS is immutable,
// so the values never change afterwards and are safe for concurrent use.
var catalog = load()

type entry struct {
	raw []byte
	id  string
}

func load() map[string]entry {
	files, err := fs.Glob(FS, "*"+schemaSuffix)
	if err != nil {
		panic(fmt.Sprintf("schemas: list embedded schemas: %v", err))
	}
	m := make(map[string]entry, len(files))
	for _, name := range files {
		raw, err := FS.ReadFile(name)
		if err != nil {
			panic(fmt.Sprintf("schemas: read %s: %v", name, err))
		}
		var head struct {
			ID string `json:"$id"`
		}
		if err := json.Unmarshal(raw, &head); err != nil {
			panic(fmt.Sprintf("schemas: parse %s: %v", name, err))
		}
		m[strings.TrimSuffix(name, schemaSuffix)] = entry{raw: raw, id: head.ID}
	}
	return m
}

// Types returns the event types that have a schema, sorted. The caller owns
// the returned slice.
func Types() []string {
	types := make([]string, 0, len(catalog))
	for t := range catalog {
		types = append(types, t)
	}
	slices.Sort(types)
	return types
}

// Schema returns the JSON Schema (draft 2020-12) of an event type's data, such
// as "nl.sociaaldomein.signaal.v1"; it returns ErrUnknownType when there is
// none. The caller owns the returned bytes.
func Schema(eventType string) ([]byte, error) {
	e, ok := catalog[eventType]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownType, eventType)
	}
	return slices.Clone(e.raw), nil
}

// SchemaID returns the $id URL of an event type's schema, such as
// "https://schemas.ketenbus.nl/nl.sociaaldomein.signaal.v1.schema.json", or
// "" when the event type has no schema.
func SchemaID(eventType string) string {
	return catalog[eventType].id
}

// AsyncAPI returns asyncapi.yaml, the AsyncAPI 3.0.0 document of the gateway
// endpoint, the NATS subjects and webhook delivery. Its messages refer to the
// schemas by relative file name ($ref: ./<event type>.schema.json), which
// resolve within FS. The caller owns the returned bytes.
func AsyncAPI() []byte {
	raw, err := FS.ReadFile("asyncapi.yaml")
	if err != nil {
		panic(fmt.Sprintf("schemas: read asyncapi.yaml: %v", err))
	}
	return raw
}
