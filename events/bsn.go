package events

import "strings"

// ValidBSN reports whether s is a BSN: exactly nine ASCII digits passing the
// elfproef (9·d1 + 8·d2 + … + 2·d8 − 1·d9 is a multiple of 11). It does not
// say that the number was ever issued.
func ValidBSN(s string) bool {
	if len(s) != 9 {
		return false
	}
	sum := 0
	for i := 0; i < 9; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return false
		}
		w := 9 - i
		if i == 8 {
			w = -1
		}
		sum += w * int(c-'0')
	}
	return sum%11 == 0 && s != "000000000"
}

// RedactBSNs returns s with every number of nine digits that passes the
// elfproef, and every number of eight digits that does so with a leading
// zero (a BSN written without it), replaced by "[bsn]": for text that
// comes from outside, such as a partner's answer or an error quoting
// input, before it is shown or kept. Digits within a UUID (such as an
// event id 4f1c…-a4a9-964520965e7f) are random, not a number a person
// has, and stay as they are.
func RedactBSNs(s string) string {
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
		if ((len(run) == 9 && ValidBSN(run)) || (len(run) == 8 && ValidBSN("0"+run))) && !inUUID(s, i, j) {
			b.WriteString("[bsn]")
		} else {
			b.WriteString(run)
		}
		i = j
	}
	return b.String()
}
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// inUUID reports whether s[i:j] lies within a UUID as generators make
// them (RFC 9562): a run of hexadecimal digits and '-' of the form
// 8-4-4-4-12, with a version of 1 to 8 and the RFC's variant.
func inUUID(s string, i, j int) bool {
	for i > 0 && isUUIDChar(s[i-1]) {
		i--
	}
	for j < len(s) && isUUIDChar(s[j]) {
		j++
	}
	u := s[i:j]
	if len(u) != 36 {
		return false
	}
	for k := 0; k < len(u); k++ {
		if dash := k == 8 || k == 13 || k == 18 || k == 23; dash != (u[k] == '-') {
			return false
		}
	}
	return u[14] >= '1' && u[14] <= '8' && strings.IndexByte("89abAB", u[19]) >= 0
}

func isUUIDChar(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '-'
}
