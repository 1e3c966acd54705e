package events_test

import (
	"strings"
	"testing"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/events/bsntest"
)

func TestValidBSN(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"111222333", true},
		{"123456782", true},
		{"123456789", false},
		{"12345678", false},
		{"1234567820", false},
		{"12345678a", false},
		{"000000000", false},
		{"", false},
	} {
		if got := events.ValidBSN(tc.in); got != tc.want {
			t.Errorf("ValidBSN(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
	for _, b := range bsntest.Seeded(1, 200) {
		if !events.ValidBSN(b) {
			t.Fatalf("bsntest generated %s, which fails the elfproef", b)
		}
	}
}

func TestPseudonym(t *testing.T) {
	t.Parallel()
	if _, err := events.NewPseudonymizer([]byte("short")); err == nil {
		t.Fatal("a short key was accepted")
	}
	key := []byte(strings.Repeat("k", 32))
	p, err := events.NewPseudonymizer(key)
	if err != nil {
		t.Fatal(err)
	}
	a, b := p.Pseudonym("111222333"), p.Pseudonym("111222333")
	if a != b || len(a) != events.PseudonymLen {
		t.Fatalf("pseudonym not stable or wrong length: %q %q", a, b)
	}
	// Known answer: HMAC-SHA256("kkkk…k" (32), "111222333").
	if a != "c38bb4ee1ad9fecc7d12136e9cac1aaf22a4821026b3c126b40af060adf6be32" {
		t.Fatalf("unexpected pseudonym %s", a)
	}
	if strings.Contains(a, "111222333") {
		t.Fatal("the pseudonym contains the BSN")
	}
	other, _ := events.NewPseudonymizer([]byte(strings.Repeat("x", 32)))
	if other.Pseudonym("111222333") == a {
		t.Fatal("a different key gave the same pseudonym")
	}
	if p.Pseudonym("123456782") == a {
		t.Fatal("two BSNs gave the same pseudonym")
	}
}

func TestSubjects(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ got, want string }{
		{events.EventSubject(events.TypeSignaal, "politie"), "ketenbus.events.signaal.v1.politie"},
		{events.EventSubject(events.TypeOverdrachtJeugdWmo, "jeugdzorg"), "ketenbus.events.overdracht-jeugd-wmo.v1.jeugdzorg"},
		{events.EventTypeSubject(events.TypeAanmelding), "ketenbus.events.aanmelding.v1.*"},
		{events.EventSubject("com.example.other", "politie"), ""},
		{events.DeliverySubject("ggz"), "ketenbus.deliver.ggz"},
		{events.DLQSubject("ggz"), "ketenbus.dlq.ggz"},
		{events.AuditSubject("ggz"), "ketenbus.audit.ggz"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	first, again := events.MsgID("urn:a", "1"), events.MsgID("urn:a", "1")
	if first == events.MsgID("urn:a", "2") || first != again || len(first) != 32 {
		t.Fatal("MsgID is not deterministic per (source, id)")
	}
	if events.MsgID("urn:a:b", "c") == events.MsgID("urn:a", "b:c") {
		t.Fatal("MsgID confuses source and id boundaries")
	}
}

func TestRedactBSNs(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"bsn 999993653 ongeldig":     "bsn [bsn] ongeldig",
		"zonder nul: 12345672":       "zonder nul: [bsn]",
		"geen bsn: 123456789, 12345": "geen bsn: 123456789, 12345",
		"deel van 0999993653":        "deel van 0999993653",
		"9999936539999":              "9999936539999",
		// A UUID's digits are random: kept, in an id or in a text.
		"c8cb141c-52f0-4205-a4a9-964520965e7f":              "c8cb141c-52f0-4205-a4a9-964520965e7f",
		"event C8CB141C-52F0-4205-A4A9-964520965E7F failed": "event C8CB141C-52F0-4205-A4A9-964520965E7F failed",
		// Not UUIDs: a BSN in them is replaced.
		"melding-999993653":                     "melding-[bsn]",
		"bad-999993653":                         "bad-[bsn]",
		"abc999993653":                          "abc[bsn]",
		"c8cb141c-52f0-4205-a4a9-999993653e7fa": "c8cb141c-52f0-4205-a4a9-[bsn]e7fa",
		"c8cb141c-52f0-4205-a4a9-999993653e7f-": "c8cb141c-52f0-4205-a4a9-[bsn]e7f-",
		// Shaped as a UUID but no version or variant: not made by a generator.
		"aaaaaaaa-aaaa-aaaa-aaaa-aaa999993653": "aaaaaaaa-aaaa-aaaa-aaaa-aaa[bsn]",
		"a0000000-0000-4000-c000-b999993653cd": "a0000000-0000-4000-c000-b[bsn]cd",
	} {
		if got := events.RedactBSNs(in); got != want {
			t.Errorf("RedactBSNs(%q) = %q, want %q", in, got, want)
		}
	}
}
