// Package dlq reads and repairs the dead letters of the DLQ stream: the
// deliveries the webhook adapter gave up on (see services/shared/bus for
// their headers). A dead letter is read as stored; its sealed fields stay
// sealed, and nothing here opens them.
//
// Retry puts a dead letter back on its partner's DELIVERY subject and
// deletes it from the DLQ only after JetStream stored the copy, so a retry
// that stops midway loses nothing: running it again within the duplicate
// window of DELIVERY stores each copy once (the copy's Nats-Msg-Id is
// derived from the dead letter) and deletes what is left.
package dlq
