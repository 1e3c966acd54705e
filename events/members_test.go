package events_test

import (
	"strings"
	"testing"

	"github.com/ketenbus/ketenbus/events"
)

func names(ms []events.Member) string {
	var got []string
	for _, m := range ms {
		got = append(got, m.Name+"="+string(m.Value))
	}
	return strings.Join(got, " ")
}

func TestMembers(t *testing.T) {
	t.Parallel()
	ms, err := events.Members([]byte(` {"a" : "x", "data":{"b":[1, {"c":null}]},"n":-1.5e3 } `))
	if err != nil {
		t.Fatal(err)
	}
	if want := `a="x" data={"b":[1, {"c":null}]} n=-1.5e3`; names(ms) != want {
		t.Fatalf("members %q, want %q", names(ms), want)
	}
	if a, n, none := events.LookupText(ms, "a"), events.LookupText(ms, "n"), events.LookupText(ms, "z"); a != "x" || n != "" || none != "" {
		t.Errorf("LookupText: a %q, n %q, z %q; want x and two empty", a, n, none)
	}
	for _, bad := range []string{`[]`, `{"a":}`, `{"a":1} {}`, `{"a":1`, ``, `{"a":"\x01"}`} {
		if _, err := events.Members([]byte(bad)); err == nil {
			t.Errorf("events.Members(%q) accepted", bad)
		}
	}
}

// TestMembersKeepsDuplicates: duplicate names are not looked for (the
// gateway rejected them); one that got in comes back as two members.
func TestMembersKeepsDuplicates(t *testing.T) {
	t.Parallel()
	ms, err := events.Members([]byte(`{"a":1,"data":{"b":2,"b":3},"a":4}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := `a=1 data={"b":2,"b":3} a=4`; names(ms) != want {
		t.Fatalf("members %q, want %q", names(ms), want)
	}
	if v := events.Lookup(ms, "a"); string(v) != "1" {
		t.Fatalf("Lookup takes the first: got %s", v)
	}
}

// TestAppendMembersUsesCallersArray: members read into the caller's array
// need no slice of their own (the router and the adapter read every event
// so); more members than fit grow a new one.
func TestAppendMembersUsesCallersArray(t *testing.T) {
	t.Parallel()
	b := []byte(`{"specversion":"1.0","id":"e-1","type":"nl.sociaaldomein.signaal.v1","data":{"categorie":"zorg"}}`)
	var buf [4]events.Member
	ms, err := events.AppendMembers(buf[:0], b)
	if err != nil {
		t.Fatal(err)
	}
	if want := `specversion="1.0" id="e-1" type="nl.sociaaldomein.signaal.v1" data={"categorie":"zorg"}`; names(ms) != want {
		t.Fatalf("members %q, want %q", names(ms), want)
	}
	if &ms[0] != &buf[0] {
		t.Error("AppendMembers did not read into the caller's array")
	}
	var small [2]events.Member
	ms, err = events.AppendMembers(small[:0], b)
	if err != nil || len(ms) != 4 || names(ms[:2]) != `specversion="1.0" id="e-1"` {
		t.Fatalf("grown: %q, %v", names(ms), err)
	}
}
