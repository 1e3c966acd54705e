package webhook

import (
	"crypto/hmac"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Verifier checks incoming webhooks against one or more secrets. It is
// immutable after [NewVerifier] and safe for concurrent use by multiple
// goroutines.
type Verifier struct {
	keys      [][]byte
	tolerance time.Duration
	now       func() time.Time
}

// VerifierOption changes a [Verifier] built by [NewVerifier].
type VerifierOption func(*Verifier)

// WithTolerance sets how far webhook-timestamp may lie from the clock, in
// either direction. A d of zero or less is ignored and [DefaultTolerance]
// stays in effect.
func WithTolerance(d time.Duration) VerifierOption {
	return func(v *Verifier) {
		if d > 0 {
			v.tolerance = d
		}
	}
}

// WithClock sets the clock the timestamp is checked against; the default is
// [time.Now]. A nil now is ignored. Tests use it to verify fixed messages.
func WithClock(now func() time.Time) VerifierOption {
	return func(v *Verifier) {
		if now != nil {
			v.now = now
		}
	}
}

// NewVerifier returns a Verifier that accepts a signature made with any of
// secrets, each parsed by [ParseSecret]. Give more than one during secret
// rotation: the new one and the one being retired.
//
// It returns an error wrapping [ErrInvalidSecret] if secrets is empty or any
// secret is invalid; the error names the position of the bad secret, never
// its content.
func NewVerifier(secrets []string, opts ...VerifierOption) (*Verifier, error) {
	if len(secrets) == 0 {
		return nil, fmt.Errorf("%w: no secrets given", ErrInvalidSecret)
	}
	v := &Verifier{
		keys:      make([][]byte, 0, len(secrets)),
		tolerance: DefaultTolerance,
		now:       time.Now,
	}
	for i, s := range secrets {
		key, err := ParseSecret(s)
		if err != nil {
			return nil, fmt.Errorf("secret %d: %w", i, err)
		}
		v.keys = append(v.keys, key)
	}
	for _, opt := range opts {
		opt(v)
	}
	return v, nil
}

// Verify reports whether h carries a valid Standard Webhooks signature for
// body, which must be the exact bytes received. It checks, in this order:
//
//   - webhook-id, webhook-timestamp and webhook-signature are present and
//     not empty, else [ErrMissingHeaders];
//   - webhook-timestamp is a decimal number of unix seconds, else
//     [ErrInvalidTimestamp];
//   - it lies within the tolerance of the clock, else [ErrTimestampTooOld]
//     or [ErrTimestampTooNew];
//   - at least one "v1," entry of webhook-signature matches under at least
//     one secret, else [ErrNoMatchingSignature]. Entries with any other
//     version prefix are ignored. Signatures are compared in constant time.
//
// It returns nil if all checks pass, or one of these errors wrapped with
// context. The error text never contains a secret or a signature.
// Verify does not remember ids; deduplicating on webhook-id is the caller's.
func (v *Verifier) Verify(h http.Header, body []byte) error {
	id := h.Get(HeaderID)
	timestamp := h.Get(HeaderTimestamp)
	signatures := h.Get(HeaderSignature)
	var missing []string
	for _, hv := range []struct{ name, value string }{
		{HeaderID, id}, {HeaderTimestamp, timestamp}, {HeaderSignature, signatures},
	} {
		if hv.value == "" {
			missing = append(missing, hv.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s", ErrMissingHeaders, strings.Join(missing, ", "))
	}

	secs, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %s is not unix seconds", ErrInvalidTimestamp, HeaderTimestamp)
	}
	ts := time.Unix(secs, 0)
	now := v.now()
	if now.Sub(ts) > v.tolerance {
		return fmt.Errorf("%w: more than %s in the past", ErrTimestampTooOld, v.tolerance)
	}
	if ts.Sub(now) > v.tolerance {
		return fmt.Errorf("%w: more than %s in the future", ErrTimestampTooNew, v.tolerance)
	}

	expected := make([][]byte, len(v.keys))
	for i, key := range v.keys {
		expected[i] = sign(key, id, timestamp, body)
	}
	checked := 0
	for _, entry := range strings.Fields(signatures) {
		version, encoded, ok := strings.Cut(entry, ",")
		if !ok || version != "v1" {
			continue
		}
		checked++
		got, err := base64.StdEncoding.DecodeString(encoded)
		if err != nil {
			continue
		}
		for _, want := range expected {
			if hmac.Equal(got, want) {
				return nil
			}
		}
	}
	return fmt.Errorf("%w: %d v1 signature(s) checked against %d secret(s)", ErrNoMatchingSignature, checked, len(v.keys))
}
