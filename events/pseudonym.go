package events

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
)

// PseudonymLen is the length of a pseudonym's text form.
const PseudonymLen = 64

// ErrPseudonymKey is returned for a pseudonym key shorter than 32 bytes.
var ErrPseudonymKey = errors.New("events: pseudonym key must be at least 32 bytes")

// Pseudonymizer computes the keyed pseudonym of a BSN: HMAC-SHA256 of the BSN
// with the region's key, as 64 lowercase hexadecimal characters. The same BSN
// and key always give the same pseudonym; without the key it cannot be
// reversed or recomputed. It is safe for concurrent use.
type Pseudonymizer struct {
	key []byte
}

// NewPseudonymizer returns a Pseudonymizer for the region key, or
// ErrPseudonymKey when the key is shorter than 32 bytes.
func NewPseudonymizer(key []byte) (*Pseudonymizer, error) {
	if len(key) < 32 {
		return nil, ErrPseudonymKey
	}
	return &Pseudonymizer{key: append([]byte(nil), key...)}, nil
}

// Pseudonym returns the pseudonym of bsn.
func (p *Pseudonymizer) Pseudonym(bsn string) string {
	m := hmac.New(sha256.New, p.key)
	m.Write([]byte(bsn))
	var sum [sha256.Size]byte
	return hex.EncodeToString(m.Sum(sum[:0]))
}

// ShortPseudonym returns the first 12 characters of a pseudonym, for display.
func ShortPseudonym(pseudonym string) string {
	if len(pseudonym) <= 12 {
		return pseudonym
	}
	return pseudonym[:12]
}
