// Package webhook signs and verifies webhooks as described by the Standard
// Webhooks specification (https://www.standardwebhooks.com).
//
// A sender signs the message id, the send time and the exact request body
// with a shared secret and puts the result in three headers:
//
//	webhook-id:        the message id; ketenbus uses the delivery id (one per
//	                   event, partner and subscription, the same on every
//	                   redelivery), so a receiver can deduplicate on it
//	webhook-timestamp: unix seconds at which this attempt was signed
//	webhook-signature: "v1,<base64 HMAC-SHA256>" entries separated by spaces
//
// The signed content is id + "." + timestamp + "." + body. Secrets have the
// form "whsec_" followed by the standard base64 encoding of 24 to 64 random
// key bytes; [NewSecret] makes a 32-byte one.
//
// A receiver builds one [Verifier] at start-up and calls [Verifier.Verify]
// with the request headers and the raw body, before decoding anything:
//
//	v, err := webhook.NewVerifier([]string{os.Getenv("KETENBUS_WEBHOOK_SECRET")})
//	...
//	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
//	...
//	if err := v.Verify(r.Header, body); err != nil {
//		http.Error(w, "invalid signature", http.StatusUnauthorized)
//		return
//	}
//
// Verify rejects a message whose timestamp lies more than the tolerance
// ([DefaultTolerance], five minutes) in the past or in the future, which
// limits replays; deduplicate on webhook-id for exactly-once processing, since
// ketenbus delivers at least once. During secret rotation give the Verifier
// both the old and the new secret: a signature made with either is accepted.
//
// Errors are sentinel values to be matched with [errors.Is]. Their texts never
// contain a secret, a key or a signature, so they are safe to log.
//
// The package uses the standard library only.
package webhook
