// Package webhookout builds and checks the HTTP requests ketenbus sends to
// a partner's webhook: the CloudEvent in structured or binary mode, the
// signed POST checked whole before it is sent (Build, Check; ErrLocal for
// one that cannot leave), the CNCF OPTIONS abuse-protection handshake, and
// the words for a request that got no answer or an answer body worth
// showing. The adapter
// delivers with it and `ketenbus partners probe` tests an endpoint with
// it, so a probe is built exactly as a delivery. Signing is
// events/webhook's Signer.
//
// Nothing here logs, and no error text holds a body, a token or a secret.
package webhookout
