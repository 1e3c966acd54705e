package main

import (
	"strings"
	"testing"
)

// TestStrayArgumentsAreUsageErrors: an argument a command does not take is
// a usage error (exit 2) everywhere, and the message never repeats a long
// number such as a BSN typed in the wrong place.
func TestStrayArgumentsAreUsageErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"timers", "rebuild", "999993653"},
		{"samenloop", "rebuild", "999993653"},
		{"keys", "generate", "999993653"},
		{"streams", "999993653"},
		{"999993653"},
	} {
		code, out, errOut := ketenbus(t, "", args...)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", args, code, errOut)
		}
		if strings.Contains(out+errOut, "999993653") {
			t.Errorf("%v: the output repeats the number:\n%s%s", args, out, errOut)
		}
	}
}
