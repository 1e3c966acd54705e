package adapter

import (
	"strings"
	"unicode/utf8"

	"github.com/ketenbus/ketenbus/events"
)

// maxExcerpt is the largest response body excerpt kept in a dead letter.
const maxExcerpt = 512

// excerpt returns at most maxExcerpt bytes of a response body, fit for a
// NATS header: every BSN replaced by "[bsn]", control characters by
// spaces, invalid UTF-8 dropped. The BSNs are replaced before cutting, so
// the cut never leaves a BSN partly visible under the length of one.
func excerpt(body []byte) string {
	s := redactBSN(strings.ToValidUTF8(string(body), ""))
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > maxExcerpt {
		cut := maxExcerpt
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return strings.TrimSpace(s)
}

// redactBSN replaces every number of nine digits passing the elfproef, and
// every number of eight digits that does so with a leading zero (a BSN
// written without it), by "[bsn]".
func redactBSN(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		if !isDigit(s[i]) {
			b.WriteByte(s[i])
			i++
			continue
		}
		j := i
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		run := s[i:j]
		if (len(run) == 9 && events.ValidBSN(run)) || (len(run) == 8 && events.ValidBSN("0"+run)) {
			b.WriteString("[bsn]")
		} else {
			b.WriteString(run)
		}
		i = j
	}
	return b.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// headerSafe makes a text fit for a NATS header value.
func headerSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}
