package webhook

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
)

const (
	secretPrefix = "whsec_"
	minKeySize   = 24
	maxKeySize   = 64
	newKeySize   = 32
)

// NewSecret returns a fresh secret of the form "whsec_<base64>" holding 32
// random bytes from [crypto/rand]. The error is non-nil only if the system's
// random source fails.
func NewSecret() (string, error) {
	key := make([]byte, newKeySize)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("webhook: new secret: %w", err)
	}
	return secretPrefix + base64.StdEncoding.EncodeToString(key), nil
}

// ParseSecret returns the key bytes of a secret of the form "whsec_<base64>",
// where <base64> is the standard (padded) base64 encoding of 24 to 64 bytes.
// Leniently, it also accepts the bare base64 without the prefix, and it
// ignores surrounding white space such as a trailing newline from a secrets
// file.
//
// Any other input gives an error wrapping [ErrInvalidSecret]; its text says
// what is wrong but never contains the secret or any part of it.
func ParseSecret(secret string) ([]byte, error) {
	s := strings.TrimSpace(secret)
	s = strings.TrimPrefix(s, secretPrefix)
	if s == "" {
		return nil, fmt.Errorf("%w: empty", ErrInvalidSecret)
	}
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		// err from encoding/base64 only names an offset, but keep the
		// text fixed so nothing about the input leaks.
		return nil, fmt.Errorf("%w: not standard base64 after %q", ErrInvalidSecret, secretPrefix)
	}
	if len(key) < minKeySize || len(key) > maxKeySize {
		return nil, fmt.Errorf("%w: key is %d bytes, want %d to %d", ErrInvalidSecret, len(key), minKeySize, maxKeySize)
	}
	return key, nil
}
