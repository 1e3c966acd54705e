package router

import (
	"strings"
	"testing"
)

func TestMembers(t *testing.T) {
	t.Parallel()
	ms, err := members([]byte(` {"a" : "x", "data":{"b":[1, {"c":null}]},"n":-1.5e3 } `))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, m.name+"="+string(m.value))
	}
	if want := `a="x" data={"b":[1, {"c":null}]} n=-1.5e3`; strings.Join(got, " ") != want {
		t.Fatalf("members %q, want %q", strings.Join(got, " "), want)
	}
	for _, bad := range []string{`[]`, `{"a":}`, `{"a":1} {}`, `{"a":1`, ``} {
		if _, err := members([]byte(bad)); err == nil {
			t.Errorf("members(%q) accepted", bad)
		}
	}
}
