// Package webhookout is the one sender of the HTTP requests ketenbus
// sends to a partner's webhook: it builds the CloudEvent in structured or
// binary mode, signs it and checks the POST whole before it is sent
// (Build, Check; ErrLocal for one that cannot leave), sends it and reads
// the answer with a bounded body (Send, Deliver: an Answer), and says
// what the answer means for a delivery (Classify: delivered, retry, dead
// letter or retire, and whether a circuit breaker counts it). It also
// sends the CNCF OPTIONS abuse-protection handshake (Handshake) and
// gives the words for a request that got no answer (Describe) or an
// answer body worth showing (Excerpt).
//
// The adapter delivers with it and `ketenbus partners probe` tests an
// endpoint with it, so a probe is built, sent and judged exactly as a
// delivery. Signing is events/webhook's Signer; the handshake headers and
// problem types are those of the receiver the partners run,
// events/partner.
//
// Nothing here logs, and no error text holds a body, a token or a secret.
package webhookout
