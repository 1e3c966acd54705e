// Package wanttest reads "# want PATH: TEXT" markers from a file in which
// a test plants mistakes: each marker says that a problem about PATH,
// whose message or hint contains TEXT, must be reported on its line.
package wanttest

import (
	"bufio"
	"os"
	"regexp"
	"strings"
	"testing"
)

// Want is one planted mistake.
type Want struct {
	Line int
	Path string
	Text string
}

var marker = regexp.MustCompile(`# want (\S+): (.*?)\s*(?:# want |$)`)

// Read returns the markers of file, in order. Lines that are comments
// themselves are skipped, so a file can explain the convention. A
// malformed marker fails the test.
func Read(tb testing.TB, file string) []Want {
	tb.Helper()
	f, err := os.Open(file)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var wants []Want
	s := bufio.NewScanner(f)
	for line := 1; s.Scan(); line++ {
		text := s.Text()
		i := strings.Index(text, "# want ")
		if i < 0 || strings.HasPrefix(strings.TrimSpace(text), "#") {
			continue
		}
		for _, part := range strings.Split(text[i:], "# want ")[1:] {
			m := marker.FindStringSubmatch("# want " + part)
			if m == nil {
				tb.Fatalf("%s:%d: malformed want marker %q", file, line, part)
			}
			wants = append(wants, Want{Line: line, Path: m[1], Text: m[2]})
		}
	}
	if err := s.Err(); err != nil {
		tb.Fatal(err)
	}
	return wants
}
