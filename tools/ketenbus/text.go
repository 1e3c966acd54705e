package main

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// printable returns s fit for a terminal and for one cell of a table: a
// backslash, every control character (U+0000 to U+001F, U+007F to
// U+009F; tab and line feed included) and every byte that is not UTF-8
// are written as Go escapes (\\, \n, \t, \x00, \x1b, \u0085), so an event
// value can neither break a line or a column nor steer the terminal, and
// the output says what the value holds. Every command's text output
// passes event values through it; JSON output is escaped by JSON.
func printable(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\x`)
			b.WriteString(hex2(s[i]))
		case r == '\\':
			b.WriteString(`\\`)
		case isControl(r):
			q := strconv.QuoteRune(r) // '\n', '\x1b', '\u0085'
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func needsEscape(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || r == '\\' || isControl(r) {
			return true
		}
	}
	return false
}

func isControl(r rune) bool { return r <= 0x1F || (r >= 0x7F && r <= 0x9F) }

func hex2(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&0xf]})
}
