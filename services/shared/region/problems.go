package region

import (
	"fmt"
	"slices"
	"strings"
)

// Problem is one mistake in a region config.
type Problem struct {
	// Line is the 1-based line in the file, 0 when unknown (a Config built
	// in code rather than read from a file).
	Line int
	// Path is the key the problem concerns, such as
	// "partners[2].subscriptions[0].filter"; empty for the file as a whole.
	Path string
	// Message says what is wrong.
	Message string
	// Hint, when not empty, says how to put it right.
	Hint string
}

// String formats the problem as "14: partners[2].id: message (hint: ...)",
// without the file name.
func (p Problem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "%d: ", p.Line)
	}
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	if p.Hint != "" {
		b.WriteString(" (hint: ")
		b.WriteString(p.Hint)
		b.WriteString(")")
	}
	return b.String()
}

// ProblemsError lists every problem found in a region config file, in line
// order. Load, Parse, Config.Validate and Config.ResolveSecrets return it;
// match it with errors.As.
type ProblemsError struct {
	// File is the file name given to Load or Parse.
	File     string
	Problems []Problem
}

// Error returns one line per problem, such as
//
//	region.yaml:14: partners[2].id: "Politie" is not a valid partner id (hint: use lowercase letters, digits and '-')
func (e *ProblemsError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		prefix := e.File
		if prefix == "" {
			prefix = "region config"
		}
		if p.Line > 0 {
			prefix = fmt.Sprintf("%s:%d", prefix, p.Line)
		}
		p.Line = 0
		lines[i] = prefix + ": " + p.String()
	}
	return strings.Join(lines, "\n")
}

func newProblemsError(file string, problems []Problem) *ProblemsError {
	sorted := slices.Clone(problems)
	slices.SortStableFunc(sorted, func(a, b Problem) int { return a.Line - b.Line })
	return &ProblemsError{File: file, Problems: sorted}
}
