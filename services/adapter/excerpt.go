package adapter

import "github.com/ketenbus/ketenbus/services/shared/webhookout"

// maxExcerpt is the largest response body excerpt kept in a dead letter.
const maxExcerpt = 512

// excerpt returns at most maxExcerpt bytes of a response body, fit for a
// NATS header, BSNs replaced (webhookout.Excerpt).
func excerpt(body []byte) string { return webhookout.Excerpt(body, maxExcerpt) }
