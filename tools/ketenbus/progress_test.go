package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestWriteStatus(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		tty  bool
		want string
	}{
		{true, "\rreplay 10/100\x1b[K\rreplay 9/9\x1b[K"},
		{false, "replay 10/100\nreplay 9/9\n"},
	} {
		var b bytes.Buffer
		writeStatus(&b, tc.tty, "replay 10/100")
		writeStatus(&b, tc.tty, "replay 9/9") // shorter
		if b.String() != tc.want {
			t.Errorf("tty %v: %q, want %q", tc.tty, b.String(), tc.want)
		}
	}
}

// TestProgress: on a terminal every redraw erases the rest of the line
// before it and the end starts a new line; elsewhere the bar is plain
// lines, without control characters.
func TestProgress(t *testing.T) {
	t.Parallel()
	for _, tty := range []bool{true, false} {
		var b bytes.Buffer
		p := newProgress(&b, "rebuild")
		p.tty, p.every = tty, 0
		p.update(1000, 1000)
		p.update(5, 10)
		p.done()
		out := b.String()
		if tty {
			draws := strings.Split(strings.TrimSuffix(out, "\n"), "\r")[1:]
			if len(draws) != 2 || !strings.HasSuffix(out, "\x1b[K\n") {
				t.Fatalf("terminal: %q, want two redraws and a new line", out)
			}
			for _, d := range draws {
				if !strings.HasPrefix(d, "rebuild [") || !strings.HasSuffix(d, "\x1b[K") {
					t.Errorf("terminal: redraw %q does not end with erase to the end of the line", d)
				}
			}
			continue
		}
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) != 2 || strings.ContainsAny(out, "\r\x1b") || !strings.Contains(lines[1], " 50% 5/10 events") {
			t.Errorf("elsewhere: %q, want two plain lines", out)
		}
	}
}

// TestProgress_plainEvery10s: off a terminal a short run writes no
// progress at all.
func TestProgress_plainEvery10s(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	p := newProgress(&b, "replay")
	for i := range uint64(10) {
		p.update(i+1, 10)
	}
	p.done()
	if b.Len() != 0 {
		t.Errorf("a short run off a terminal wrote %q, want nothing", b.String())
	}
}
