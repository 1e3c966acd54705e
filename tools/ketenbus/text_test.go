package main

import "testing"

func TestPrintable(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"signaal-0001", "signaal-0001"},
		{"pseudoniem é €", "pseudoniem é €"},
		{"x-1\n", `x-1\n`},
		{"a\x00b", `a\x00b`},
		{"\x1b[31mrood", `\x1b[31mrood`},
		{"tab\tcel", `tab\tcel`},
		{"cr\r", `cr\r`},
		{"del\x7f", `del\x7f`},
		{"c1\u0085", `c1\u0085`},
		{`back\slash`, `back\\slash`},
		{"kapot\xff", `kapot\xff`},
		{"\uFFFD echt", "\uFFFD echt"},
	} {
		if got := printable(tc.in); got != tc.want {
			t.Errorf("printable(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
