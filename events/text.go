package events

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// ErrForbiddenCharacter is matched (errors.Is) by every error of
// [CheckString].
var ErrForbiddenCharacter = errors.New("forbidden character")

// CheckString reports whether s may be the value of a CloudEvents String
// attribute. CloudEvents 1.0 forbids in String the control characters
// (U+0000 to U+001F and U+007F to U+009F), surrogates and noncharacters;
// Go strings that are not valid UTF-8 are refused too (a surrogate can
// only appear in Go as such bytes). The error wraps
// [ErrForbiddenCharacter] and names the first forbidden character and its
// place, counted in characters from 1; it never repeats the value.
func CheckString(s string) error {
	if d := forbiddenCharacter(s); d != "" {
		return fmt.Errorf("%w: %s", ErrForbiddenCharacter, d)
	}
	return nil
}

// forbiddenCharacter describes the first character of s that CheckString
// refuses, such as "the control character U+000A (line feed) at character
// 2"; "" when there is none.
func forbiddenCharacter(s string) string {
	n := 0
	for i, r := range s {
		n++
		what := ""
		switch {
		case r == utf8.RuneError && !validAt(s, i):
			return fmt.Sprintf("a byte that is not UTF-8 (a surrogate or a broken character) at character %d", n)
		case r <= 0x1F || (r >= 0x7F && r <= 0x9F):
			what = "the control character"
		case isNoncharacter(r):
			what = "the noncharacter"
		default:
			continue
		}
		return fmt.Sprintf("%s %s at character %d", what, runeName(r), n)
	}
	return ""
}

// validAt reports whether the rune at s[i:] is a real U+FFFD rather than
// a decoding error.
func validAt(s string, i int) bool {
	_, size := utf8.DecodeRuneInString(s[i:])
	return size == 3
}

// isNoncharacter reports whether r is one of the 66 Unicode
// noncharacters: U+FDD0 to U+FDEF and the last two code points of every
// plane.
func isNoncharacter(r rune) bool {
	return (r >= 0xFDD0 && r <= 0xFDEF) || r&0xFFFE == 0xFFFE
}

// runeName is how an error names a forbidden character: its code point
// and, for the common control characters, what it is.
func runeName(r rune) string {
	names := map[rune]string{0: "NUL", '\t': "tab", '\n': "line feed", '\r': "carriage return", 0x1B: "escape", 0x7F: "delete"}
	if name, ok := names[r]; ok {
		return fmt.Sprintf("U+%04X (%s)", r, name)
	}
	return fmt.Sprintf("U+%04X", r)
}
