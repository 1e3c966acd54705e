package jsonobj

import (
	"strings"
	"testing"
)

func names(ms []Member) string {
	var got []string
	for _, m := range ms {
		got = append(got, m.Name+"="+string(m.Value))
	}
	return strings.Join(got, " ")
}

func TestMembers(t *testing.T) {
	t.Parallel()
	ms, err := Members([]byte(` {"a" : "x", "data":{"b":[1, {"c":null}]},"n":-1.5e3 } `))
	if err != nil {
		t.Fatal(err)
	}
	if want := `a="x" data={"b":[1, {"c":null}]} n=-1.5e3`; names(ms) != want {
		t.Fatalf("members %q, want %q", names(ms), want)
	}
	for _, bad := range []string{`[]`, `{"a":}`, `{"a":1} {}`, `{"a":1`, ``, `{"a":"\x01"}`} {
		if _, err := Members([]byte(bad)); err == nil {
			t.Errorf("Members(%q) accepted", bad)
		}
	}
}

// TestMembersKeepsDuplicates: duplicate names are not looked for (the
// gateway rejected them); one that got in comes back as two members.
func TestMembersKeepsDuplicates(t *testing.T) {
	t.Parallel()
	ms, err := Members([]byte(`{"a":1,"data":{"b":2,"b":3},"a":4}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := `a=1 data={"b":2,"b":3} a=4`; names(ms) != want {
		t.Fatalf("members %q, want %q", names(ms), want)
	}
	if v := Lookup(ms, "a"); string(v) != "1" {
		t.Fatalf("Lookup takes the first: got %s", v)
	}
}

// TestAppendMembersAllocatesNothing: members read into the caller's array,
// with the catalog's names, cost no allocation; the router and the
// adapter read every event so.
func TestAppendMembersAllocatesNothing(t *testing.T) {
	b := []byte(`{"specversion":"1.0","id":"e-1","type":"nl.sociaaldomein.signaal.v1","data":{"categorie":"zorg","urgentie":"hoog"}}`)
	var buf [16]Member
	var ms []Member
	allocs := testing.AllocsPerRun(100, func() {
		var err error
		if ms, err = AppendMembers(buf[:0], b); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("AppendMembers allocated %.0f times per call, want 0", allocs)
	}
	if got := names(ms); !strings.HasPrefix(got, `specversion="1.0" id="e-1" type=`) || len(ms) != 4 {
		t.Errorf("members %s", got)
	}
}
