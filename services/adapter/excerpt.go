package adapter

import (
	"strings"

	"github.com/ketenbus/ketenbus/services/shared/webhookout"
)

// maxExcerpt is the largest response body excerpt kept in a dead letter.
const maxExcerpt = 512

// excerpt returns at most maxExcerpt bytes of a response body, fit for a
// NATS header, BSNs replaced (webhookout.Excerpt).
func excerpt(body []byte) string { return webhookout.Excerpt(body, maxExcerpt) }

// headerSafe makes a text fit for a NATS header value.
func headerSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}
