package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"time"
)

// Signer signs outgoing webhooks with one secret. It is immutable and safe
// for concurrent use by multiple goroutines.
type Signer struct {
	key []byte
}

// NewSigner returns a Signer for secret, which is parsed by [ParseSecret].
// The error, if any, wraps [ErrInvalidSecret] and does not contain the secret.
func NewSigner(secret string) (*Signer, error) {
	key, err := ParseSecret(secret)
	if err != nil {
		return nil, err
	}
	return &Signer{key: key}, nil
}

// Sign returns the webhook-signature header value, "v1,<base64>", for the
// message id, the timestamp ts (truncated to whole unix seconds) and the
// exact bytes of body. Sign a new timestamp on every delivery attempt, with
// the same id.
func (s *Signer) Sign(id string, ts time.Time, body []byte) string {
	return "v1," + base64.StdEncoding.EncodeToString(sign(s.key, id, unixString(ts), body))
}

// SetHeaders sets webhook-id, webhook-timestamp and webhook-signature on h,
// replacing any values already there, for the message id, the timestamp ts
// and the exact bytes of body that will be sent.
func (s *Signer) SetHeaders(h http.Header, id string, ts time.Time, body []byte) {
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, unixString(ts))
	h.Set(HeaderSignature, s.Sign(id, ts, body))
}

func unixString(ts time.Time) string {
	return strconv.FormatInt(ts.Unix(), 10)
}

// sign returns HMAC-SHA256(key, id + "." + timestamp + "." + body).
func sign(key []byte, id, timestamp string, body []byte) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write([]byte(timestamp))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return mac.Sum(nil)
}
