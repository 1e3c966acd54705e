package webhook

import (
	"errors"
	"time"
)

// Header names defined by the Standard Webhooks specification. They are
// written in lower case, as in the specification; [net/http.Header] methods
// canonicalise them, so they work with Get and Set unchanged.
const (
	// HeaderID carries the message id. It is the same on every delivery
	// attempt of one message and is the key a receiver deduplicates on.
	HeaderID = "webhook-id"
	// HeaderTimestamp carries the signing time in unix seconds, in decimal.
	HeaderTimestamp = "webhook-timestamp"
	// HeaderSignature carries one or more space-separated signatures of the
	// form "v1,<base64>".
	HeaderSignature = "webhook-signature"
)

// DefaultTolerance is how far the webhook-timestamp may lie from the
// receiver's clock, in either direction, unless [WithTolerance] says
// otherwise.
const DefaultTolerance = 5 * time.Minute

// Errors returned by this package. Functions wrap them with context; match
// them with [errors.Is]. No error text ever contains a secret, a key or a
// signature.
var (
	// ErrMissingHeaders means at least one of webhook-id, webhook-timestamp
	// or webhook-signature is absent or empty.
	ErrMissingHeaders = errors.New("webhook: missing required headers")
	// ErrInvalidSecret means a secret is not "whsec_" (or nothing) followed
	// by standard base64 of 24 to 64 bytes, or no secret was given.
	ErrInvalidSecret = errors.New("webhook: invalid secret")
	// ErrInvalidTimestamp means webhook-timestamp is not a decimal number of
	// unix seconds.
	ErrInvalidTimestamp = errors.New("webhook: invalid timestamp")
	// ErrTimestampTooOld means webhook-timestamp lies further in the past
	// than the tolerance allows.
	ErrTimestampTooOld = errors.New("webhook: timestamp too old")
	// ErrTimestampTooNew means webhook-timestamp lies further in the future
	// than the tolerance allows.
	ErrTimestampTooNew = errors.New("webhook: timestamp too new")
	// ErrNoMatchingSignature means no "v1," signature in webhook-signature
	// matches the id, timestamp and body under any of the secrets.
	ErrNoMatchingSignature = errors.New("webhook: no matching signature")
)
