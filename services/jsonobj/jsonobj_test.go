package jsonobj

import (
	"strings"
	"testing"
)

func TestMembers(t *testing.T) {
	t.Parallel()
	ms, err := Members([]byte(` {"a" : "x", "data":{"b":[1, {"c":null}]},"n":-1.5e3 } `))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, m.Name+"="+string(m.Value))
	}
	if want := `a="x" data={"b":[1, {"c":null}]} n=-1.5e3`; strings.Join(got, " ") != want {
		t.Fatalf("members %q, want %q", strings.Join(got, " "), want)
	}
	for _, bad := range []string{`[]`, `{"a":}`, `{"a":1} {}`, `{"a":1`, ``} {
		if _, err := Members([]byte(bad)); err == nil {
			t.Errorf("Members(%q) accepted", bad)
		}
	}
}

func TestStoredMembers(t *testing.T) {
	t.Parallel()
	in := []byte(`{"a":1,"data":{"b":2,"b":3},"a":4}`)
	if _, err := Members(in); err == nil {
		t.Fatal("Members accepted duplicate names")
	}
	ms, err := StoredMembers(in)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, m.Name+"="+string(m.Value))
	}
	if want := `a=1 data={"b":2,"b":3} a=4`; strings.Join(got, " ") != want {
		t.Fatalf("members %q, want %q", strings.Join(got, " "), want)
	}
	for _, bad := range []string{`[]`, `{"a":}`, `{"a":1} {}`, `{"a":1`, ``} {
		if _, err := StoredMembers([]byte(bad)); err == nil {
			t.Errorf("StoredMembers(%q) accepted", bad)
		}
	}
	// A decoder back in the pool checks duplicates again.
	if _, err := Members(in); err == nil {
		t.Fatal("Members accepted duplicate names after StoredMembers")
	}
}
