// Package fieldcrypt encrypts the sensitive data fields of an event (those
// the schemas mark x-sensitive, such as bsn) with AES-256-GCM, and
// decrypts them again.
//
// The gateway seals an event before JetStream stores it; the webhook
// adapter opens it only for a subscription whose fields list the field.
// Everything between them (EVENTS, DELIVERY, the DLQ, replay, tail and
// logs) holds the sealed form: a JSON string
//
//	kb1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>
//
// in place of the field's value. The plaintext is the field's JSON value
// as it was sent; the additional data binds it to the event's source and
// id and to the field's name, so a sealed value copied into another event
// or field does not open. The key id (8 hex digits derived from the key)
// says which key sealed it, so keys rotate: Keys seals with the newest
// key and opens with any of them.
package fieldcrypt

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/ketenbus/ketenbus/events"
)

// prefix starts every sealed value; the version allows another format
// later.
const prefix = "kb1."

// KeySize is the size of a field key: AES-256.
const KeySize = 32

var (
	// ErrUnknownKey means a sealed value names a key id that is not among
	// the keys. Its message names the key id, which is not secret.
	ErrUnknownKey = errors.New("sealed with a key that is not configured")
	// ErrCorrupt means a sealed value is malformed, was changed, or
	// belongs to another event or field.
	ErrCorrupt = errors.New("sealed value is malformed or does not belong to this event and field")
	// ErrNotEvent means the input is not a structured CloudEvent with a
	// source and an id.
	ErrNotEvent = errors.New("not a structured CloudEvent with a source and an id")
)

// Keys seals and opens fields. It is safe for concurrent use.
type Keys struct {
	aeads   map[string]cipher.AEAD
	current string
}

// New returns Keys for keys, oldest first: the last one seals.
func New(keys [][]byte) (*Keys, error) {
	if len(keys) == 0 {
		return nil, errors.New("fieldcrypt: no key")
	}
	k := &Keys{aeads: map[string]cipher.AEAD{}}
	for i, key := range keys {
		if len(key) != KeySize {
			return nil, fmt.Errorf("fieldcrypt: key %d of %d has %d bytes, not %d", i+1, len(keys), len(key), KeySize)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("fieldcrypt: %w", err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("fieldcrypt: %w", err)
		}
		id := KeyID(key)
		k.aeads[id] = aead
		k.current = id
	}
	return k, nil
}

// KeyID returns the id of a key: 8 hex digits of a hash of it, which tell
// keys apart and reveal nothing of them.
func KeyID(key []byte) string {
	sum := sha256.Sum256(append([]byte("ketenbus field key id\x00"), key...))
	return hex.EncodeToString(sum[:4])
}

// Current returns the id of the key that seals.
func (k *Keys) Current() string { return k.current }

// Sealed reports whether v (a JSON value) is a sealed field.
func Sealed(v jsontext.Value) bool {
	return v.Kind() == '"' && strings.HasPrefix(events.Text(v), prefix)
}

// Seal returns the structured CloudEvent event with the data fields for
// which sensitive returns true sealed. Fields already sealed stay as they
// are; an event without such fields is returned unchanged.
func (k *Keys) Seal(event []byte, sensitive func(field string) bool) ([]byte, error) {
	return k.rewrite(event, k.sealing(sensitive))
}

// SealData returns data, the data object of the event of source and id,
// with the fields for which sensitive returns true sealed, exactly as
// Seal seals them in the whole event: a sender that holds the event
// parsed seals its data before encoding it once. Data that is not a JSON
// object, or holds no such field, is returned unchanged. The error is
// ErrNotEvent when source or id is empty or data is not valid JSON.
func (k *Keys) SealData(source, id string, data []byte, sensitive func(field string) bool) ([]byte, error) {
	if source == "" || id == "" {
		return nil, ErrNotEvent
	}
	if jsontext.Value(data).Kind() != '{' {
		return data, nil
	}
	out, changed, err := rewriteData(source, id, data, k.sealing(sensitive))
	if err != nil {
		return nil, err
	}
	if !changed {
		return data, nil
	}
	return out, nil
}

// sealing is the rewrite of Seal: it seals the fields for which sensitive
// returns true and that are not sealed yet.
func (k *Keys) sealing(sensitive func(field string) bool) func(aad []byte, m events.Member) ([]byte, bool, error) {
	return func(aad []byte, m events.Member) ([]byte, bool, error) {
		if !sensitive(m.Name) || Sealed(m.Value) {
			return nil, false, nil
		}
		v, err := k.seal(m.Value, aad)
		return v, true, err
	}
}

// Open returns event with the sealed data fields for which allowed
// returns true opened, and every other sealed field removed: what a
// subscription may not see does not leave as ciphertext either.
func (k *Keys) Open(event []byte, allowed func(field string) bool) ([]byte, error) {
	return k.rewrite(event, func(aad []byte, m events.Member) ([]byte, bool, error) {
		if !Sealed(m.Value) {
			return nil, false, nil
		}
		if !allowed(m.Name) {
			return nil, true, nil
		}
		v, err := k.open(events.Text(m.Value), aad)
		return v, true, err
	})
}

// rewrite applies f to every member of event's data object. f returns the
// member's new value (nil: remove it) and whether it changed. Events are
// sealed by the gateway after it parsed them, and opened as stored on
// DELIVERY: their member names were checked for duplicates already (see
// events.Members).
func (k *Keys) rewrite(event []byte, f func(aad []byte, m events.Member) ([]byte, bool, error)) ([]byte, error) {
	var objBuf [16]events.Member // members are read only here
	obj, err := events.AppendMembers(objBuf[:0], event)
	if err != nil {
		return nil, ErrNotEvent
	}
	source, id := events.LookupText(obj, "source"), events.LookupText(obj, "id")
	if source == "" || id == "" {
		return nil, ErrNotEvent
	}
	raw := events.Lookup(obj, "data")
	if raw.Kind() != '{' {
		return event, nil
	}
	out, changed, err := rewriteData(source, id, raw, f)
	if err != nil {
		return nil, err
	}
	if !changed {
		return event, nil
	}
	// Splice the new data object in place of the old one; raw is a slice
	// of event, so its offset follows from the capacities.
	start := cap(event) - cap(raw)
	var b bytes.Buffer
	b.Grow(len(event) - len(raw) + len(out))
	b.Write(event[:start])
	b.Write(out)
	b.Write(event[start+len(raw):])
	return b.Bytes(), nil
}

// rewriteData applies f (see rewrite) to every member of raw, the data
// object of the event of source and id, and returns the new object and
// whether any member changed.
func rewriteData(source, id string, raw []byte, f func(aad []byte, m events.Member) ([]byte, bool, error)) ([]byte, bool, error) {
	var dataBuf [16]events.Member // members are read only here
	data, err := events.AppendMembers(dataBuf[:0], raw)
	if err != nil {
		return nil, false, ErrNotEvent
	}
	changed := false
	out := make([]byte, 0, len(raw)+64)
	out = append(out, '{')
	for _, m := range data {
		v, ok, err := f(additionalData(source, id, m.Name), m)
		if err != nil {
			return nil, false, fmt.Errorf("field %s: %w", m.Name, err)
		}
		if ok {
			changed = true
			if v == nil {
				continue
			}
		} else {
			v = m.Value
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		out, _ = jsontext.AppendQuote(out, m.Name)
		out = append(out, ':')
		out = append(out, v...)
	}
	return append(out, '}'), changed, nil
}

func additionalData(source, id, field string) []byte {
	return []byte("ketenbus field v1\x00" + source + "\x00" + id + "\x00" + field)
}

func (k *Keys) seal(plain jsontext.Value, aad []byte) ([]byte, error) {
	aead := k.aeads[k.current]
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails
	sealed := aead.Seal(nonce, nonce, plain, aad)
	return jsontext.AppendQuote(nil, prefix+k.current+"."+base64.RawURLEncoding.EncodeToString(sealed))
}

func (k *Keys) open(s string, aad []byte) ([]byte, error) {
	id, enc, ok := strings.Cut(strings.TrimPrefix(s, prefix), ".")
	if !ok {
		return nil, ErrCorrupt
	}
	aead, ok := k.aeads[id]
	if !ok {
		return nil, fmt.Errorf("%w: key id %q", ErrUnknownKey, id)
	}
	sealed, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil || len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, ErrCorrupt
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], aad)
	if err != nil {
		return nil, ErrCorrupt
	}
	return plain, nil
}
