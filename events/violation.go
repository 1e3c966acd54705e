package events

import (
	"errors"
	"slices"
	"strconv"
	"strings"
)

// ErrInvalid is matched by every *ValidationError (errors.Is(err, ErrInvalid)).
var ErrInvalid = errors.New("invalid event")

// Violation is one thing wrong with an event. Pointer is a JSON pointer
// (RFC 6901) into the event's structured form ("/source", "/data/bsn"; in a
// batch prefixed with the event's index, "/3/data/bsn"). Detail says what to
// fix; it never repeats the offending value, which may be personal data.
type Violation struct {
	Pointer string `json:"pointer"`
	Detail  string `json:"detail"`
}

// ValidationError lists every violation found in an event or a batch.
type ValidationError struct {
	Violations []Violation
}

// Error returns the violations, one per line.
func (e *ValidationError) Error() string {
	var b strings.Builder
	for i, v := range e.Violations {
		if i > 0 {
			b.WriteByte('\n')
		}
		if v.Pointer != "" {
			b.WriteString(v.Pointer)
			b.WriteString(": ")
		}
		b.WriteString(v.Detail)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrInvalid) true for a *ValidationError.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// Prefixed returns the violations with every pointer prefixed by the
// index of the event within a batch.
func (e *ValidationError) Prefixed(index int) []Violation {
	out := make([]Violation, len(e.Violations))
	p := "/" + strconv.Itoa(index)
	for i, v := range e.Violations {
		out[i] = Violation{Pointer: p + v.Pointer, Detail: v.Detail}
	}
	return out
}

// violations collects Violations.
type violations []Violation

// add records a violation; on a nil vs (a reader that reports none) it
// does nothing.
func (vs *violations) add(pointer, detail string) {
	if vs == nil {
		return
	}
	*vs = append(*vs, Violation{Pointer: pointer, Detail: detail})
}

// err returns the violations as a *ValidationError, sorted by pointer so
// the same input always gives the same answer; nil when there are none.
func (vs violations) err() error {
	if len(vs) == 0 {
		return nil
	}
	slices.SortStableFunc(vs, func(a, b Violation) int { return strings.Compare(a.Pointer, b.Pointer) })
	return &ValidationError{Violations: vs}
}

// pointerEscape escapes one reference token of a JSON pointer.
func pointerEscape(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}

func pointerOf(tokens []string) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		b.WriteString(pointerEscape(t))
	}
	return b.String()
}
