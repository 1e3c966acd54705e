package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/events/bsntest"
	"github.com/ketenbus/ketenbus/services/shared/audit"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
)

// TestAudit: the processing log holds records about two persons and one
// about nobody. ketenbus audit --bsn lists exactly the first person's
// records, naming them by pseudonym only; --subject gives the same and
// --json the records themselves; the BSNs never show.
func TestAudit(t *testing.T) {
	key := strings.Repeat("k", region.KeySize)
	t.Setenv("KETENBUS_PSEUDONYM_KEY", base64.StdEncoding.EncodeToString([]byte(key)))
	pz, err := events.NewPseudonymizer([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	bsns := bsntest.Seeded(11, 2)
	person1, person2 := pz.Pseudonym(bsns[0]), pz.Pseudonym(bsns[1])

	env := natstest.Start(t)
	w := audit.NewWriter(env.JS, nil)
	at := time.Date(2026, 4, 2, 8, 0, 0, 0, time.UTC)
	record := func(id, partner, subject, outcome string) audit.Entry {
		return audit.Entry{Partner: partner, Record: audit.NewRecord(audit.Processing{
			Name: audit.NameDeliver, Activity: "urn:nld:" + partner + "-voorbeeld:verwerkingsactiviteit:samenloop",
			Partner: partner, Subscription: "samenloop",
			Event:   audit.Event{ID: id, Source: "urn:nld:oin:00000009999999990000:systeem:ketenbus", Type: events.TypeSamenloop, Subject: subject, Sequence: 7},
			Outcome: outcome, Start: at, End: at.Add(time.Millisecond),
		})}
	}
	if err := w.WriteAll(context.Background(), []audit.Entry{
		record("ev-1-ggz", "ggz", person1, audit.OutcomeDelivered),
		record("ev-2-ggz", "ggz", person2, audit.OutcomeDelivered),
		record("ev-1-zvh", "zvh", person1, audit.OutcomeDLQ),
		record("ev-3-zvh", "zvh", "", audit.OutcomeDelivered),
	}); err != nil {
		t.Fatal(err)
	}
	conn := []string{"--config", regionFile, "--nats-url", env.URL}
	noPersonalData := func(t *testing.T, out, errOut string) {
		t.Helper()
		for i, bsn := range bsns {
			if strings.Contains(out+errOut, bsn) {
				t.Errorf("the output holds BSN %d:\n%s\n%s", i+1, out, errOut)
			}
		}
		if strings.Contains(out+errOut, person2) || strings.Contains(out, "ev-2-ggz") || strings.Contains(out, "ev-3-zvh") {
			t.Errorf("the output names another person's records:\n%s", out)
		}
	}

	code, byBSN, errOut := ketenbus(t, "", append([]string{"audit", "--bsn", bsns[0]}, conn...)...)
	if code != 0 {
		t.Fatalf("--bsn: exit %d: %s", code, errOut)
	}
	noPersonalData(t, byBSN, errOut)
	lines := strings.Split(strings.TrimSpace(byBSN), "\n")
	if len(lines) != 4 || lines[0] != "data subject "+person1+": 2 records in the processing log" || !strings.HasPrefix(lines[1], "TIME ") {
		t.Fatalf("--bsn: stdout\n%s", byBSN)
	}
	for i, want := range [][]string{
		{"2026-04-02T08:00:00Z", "ggz", "samenloop", events.TypeSamenloop, "ev-1-ggz", "urn:nld:ggz-voorbeeld:verwerkingsactiviteit:samenloop", "delivered"},
		{"2026-04-02T08:00:00Z", "zvh", "samenloop", events.TypeSamenloop, "ev-1-zvh", "urn:nld:zvh-voorbeeld:verwerkingsactiviteit:samenloop", "dlq"},
	} {
		if got := strings.Fields(lines[2+i]); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("record line %d: %q, want %q", i+1, got, want)
		}
	}

	code, bySubject, errOut := ketenbus(t, "", append([]string{"audit", "--subject", person1}, conn...)...)
	if code != 0 || bySubject != byBSN {
		t.Errorf("--subject: exit %d, stdout\n%s\nwant the same as --bsn:\n%s\nstderr %s", code, bySubject, byBSN, errOut)
	}

	code, asJSON, errOut := ketenbus(t, "", append([]string{"audit", "--subject", strings.ToUpper(person1), "--json"}, conn...)...)
	if code != 0 {
		t.Fatalf("--json: exit %d: %s", code, errOut)
	}
	noPersonalData(t, asJSON, errOut)
	var ids []string
	for _, line := range strings.Split(strings.TrimSpace(asJSON), "\n") {
		var r audit.Record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("--json line %q: %v", line, err)
		}
		if r.Attr(audit.AttrDataSubject) != person1 {
			t.Errorf("--json record about %s", r.Attr(audit.AttrDataSubject))
		}
		ids = append(ids, r.Attr(audit.AttrEventID))
	}
	if strings.Join(ids, ",") != "ev-1-ggz,ev-1-zvh" || !strings.Contains(errOut, "data subject "+person1+": 2 records") {
		t.Errorf("--json: records %v, stderr %q", ids, errOut)
	}

	nobody := pz.Pseudonym(bsntest.Seeded(12, 1)[0])
	code, out, errOut := ketenbus(t, "", append([]string{"audit", "--subject", nobody}, conn...)...)
	if code != 0 || out != "data subject "+nobody+": no records in the processing log\n" {
		t.Errorf("nobody: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	// Without the region's pseudonym key a BSN names nobody: refused, also
	// in the demo region that would generate a key.
	t.Setenv("KETENBUS_PSEUDONYM_KEY", "")
	code, out, errOut = ketenbus(t, "", append([]string{"audit", "--bsn", bsns[0]}, conn...)...)
	if code != 2 || !strings.Contains(errOut, "KETENBUS_PSEUDONYM_KEY (pseudonym_key_env) is not set") {
		t.Errorf("without the key: exit %d, stderr %q", code, errOut)
	}
	noPersonalData(t, out, errOut)
}

// TestAuditUsage: a command line that names no one person, or an invalid
// BSN, is refused as a usage error (exit 2) before anything is read, and
// the refusal never repeats the number.
func TestAuditUsage(t *testing.T) {
	t.Parallel()
	const notABSN = "123456789" // fails the elfproef
	valid := bsntest.Seeded(13, 1)[0]
	// No NATS listens here: a usage error comes first.
	wantUsage(t, []string{"audit", "--config", regionFile, "--nats-url", "nats://127.0.0.1:1"}, nil, []usageCase{
		{"invalid bsn", []string{"--bsn", notABSN}, "--bsn is not a BSN"},
		{"bsn too short", []string{"--bsn", notABSN[:8]}, "--bsn is not a BSN"},
		{"bsn as subject", []string{"--subject", valid}, "--subject is not a pseudonym"},
		{"both", []string{"--bsn", valid, "--subject", strings.Repeat("ab", 32)}, "give --bsn or --subject, not both"},
		{"neither", nil, "name the person"},
		{"argument", []string{valid}, "takes no arguments"},
		{"bsn in another flag", []string{"--json=" + valid}, "invalid argument"},
		{"bsn as a flag", []string{"--" + valid}, "unknown flag"},
	}, notABSN, valid)
}
