package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/testutil/logtest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
)

// Values of the stored events' data that tail must never show.
const (
	tailBSN         = "111222333"
	tailToelichting = "Buurman hoort nachtelijk geschreeuw"
	tailReden       = "Zorgen over de thuissituatie"
)

var (
	personA = strings.Repeat("a1", 32)
	personB = strings.Repeat("b2", 32)
)

// storeTailEvents stores five events on EVENTS, at sequences 1 to 5:
//
//	1 signaal      politie  person A
//	2 aanmelding   politie  person A, ontvanger ggz
//	3 signaal      ggz      person B, a BSN in its id
//	4 bevestiging  ggz      person A, ontvanger politie
//	5 escalatie    ketenbus person A, ontvanger zvh
func storeTailEvents(t *testing.T, env *natstest.Env) {
	t.Helper()
	const politie, ggz = "urn:nld:oin:00000009999999990004:systeem:bvh", "urn:nld:kvknr:99999901:systeem:epd"
	ev := func(typ, source, id, subject string, data map[string]any, ext ...string) map[string]any {
		m := map[string]any{"specversion": "1.0", "type": typ, "source": source, "id": id, "subject": subject,
			"time": "2026-11-24T09:30:00Z", "datacontenttype": "application/json", "data": data}
		if len(ext) == 2 {
			m[ext[0]] = ext[1]
		}
		return m
	}
	env.StoreEvent(t, "politie", ev(events.TypeSignaal, politie, "sig-1", personA,
		map[string]any{"bsn": tailBSN, "categorie": "huiselijk-geweld", "urgentie": "hoog", "toelichting": tailToelichting}))
	env.StoreEvent(t, "politie", ev(events.TypeAanmelding, politie, "aan-1", personA,
		map[string]any{"bsn": tailBSN, "ontvanger": "ggz", "reden": tailReden}, "ontvanger", "ggz"))
	// ggz put the BSN in its event id: tail shows it replaced.
	env.StoreEvent(t, "ggz", ev(events.TypeSignaal, ggz, "sig-314159265", personB,
		map[string]any{"bsn": "314159265", "categorie": "schulden", "urgentie": "laag", "toelichting": tailToelichting}))
	env.StoreEvent(t, "ggz", ev(events.TypeBevestiging, ggz, "bev-1", personA,
		map[string]any{"betreft": "aan-1", "status": "opgepakt"}, "ontvanger", "politie"))
	env.StoreEvent(t, events.Producer, ev(events.TypeEscalatie, "urn:nld:oin:00000009999999990000:systeem:ketenbus", "esc-1", personA,
		map[string]any{"betreft": "aan-1", "niveau": 1, "reden": tailReden}, "ontvanger", "zvh"))
}

// runFor runs the command line with a deadline, so a tail that does not
// stop fails the test instead of hanging it.
func runFor(t *testing.T, d time.Duration, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var out, errOut logtest.Buffer
	code := run(ctx, args, strings.NewReader(""), &out, &errOut)
	if ctx.Err() != nil {
		t.Fatalf("ketenbus %s did not stop within %s; stdout:\n%s", strings.Join(args, " "), d, out.String())
	}
	return code, out.String(), errOut.String()
}

func noEventData(t *testing.T, out string) {
	t.Helper()
	for _, v := range []string{tailBSN, "314159265", tailToelichting, tailReden, "huiselijk-geweld", "opgepakt"} {
		if strings.Contains(out, v) {
			t.Errorf("the output holds the data value %q:\n%s", v, out)
		}
	}
}

// TestTail reads the stored events from sequence 1 with each filter: the
// lines are the events selected, in stream order, with their attributes
// and publishing partner, and no data value shows.
func TestTail(t *testing.T) {
	t.Parallel()
	env := natstest.Start(t)
	storeTailEvents(t, env)
	conn := []string{"--config", regionFile, "--nats-url", env.URL, "--from-seq", "1"}
	short := events.ShortPseudonym
	lines := map[string]string{ // by sequence: the fields after STORED
		"1": fmt.Sprintf("%s %s sig-1 %s - politie", events.TypeSignaal, "urn:nld:oin:00000009999999990004:systeem:bvh", short(personA)),
		"2": fmt.Sprintf("%s %s aan-1 %s ggz politie", events.TypeAanmelding, "urn:nld:oin:00000009999999990004:systeem:bvh", short(personA)),
		"3": fmt.Sprintf("%s %s sig-[bsn] %s - ggz", events.TypeSignaal, "urn:nld:kvknr:99999901:systeem:epd", short(personB)),
		"4": fmt.Sprintf("%s %s bev-1 %s politie ggz", events.TypeBevestiging, "urn:nld:kvknr:99999901:systeem:epd", short(personA)),
		"5": fmt.Sprintf("%s %s esc-1 %s zvh ketenbus", events.TypeEscalatie, "urn:nld:oin:00000009999999990000:systeem:ketenbus", short(personA)),
	}
	for _, tc := range []struct {
		name    string
		filters []string
		want    []string // sequences
	}{
		{name: "all", want: []string{"1", "2", "3", "4", "5"}},
		{name: "type", filters: []string{"--type", events.TypeSignaal}, want: []string{"1", "3"}},
		{name: "two types", filters: []string{"--type", events.TypeSignaal, "--type", events.TypeEscalatie}, want: []string{"1", "3", "5"}},
		{name: "partner", filters: []string{"--partner", "politie"}, want: []string{"1", "2"}},
		{name: "producer", filters: []string{"--partner", events.Producer}, want: []string{"5"}},
		{name: "type and partner", filters: []string{"--type", events.TypeSignaal, "--partner", "ggz"}, want: []string{"3"}},
		{name: "subject", filters: []string{"--subject", personA}, want: []string{"1", "2", "4", "5"}},
		{name: "subject upper case", filters: []string{"--subject", strings.ToUpper(personB)}, want: []string{"3"}},
		{name: "partner and subject", filters: []string{"--partner", "ggz", "--subject", personA}, want: []string{"4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := append(append([]string{"tail"}, conn...), tc.filters...)
			args = append(args, "--count", fmt.Sprint(len(tc.want)))
			code, out, errOut := runFor(t, 20*time.Second, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			noEventData(t, out+errOut)
			got := strings.Split(strings.TrimSpace(out), "\n")
			if len(got) != len(tc.want)+1 || !strings.HasPrefix(got[0], "SEQ ") {
				t.Fatalf("stdout:\n%s\nwant a header and the events %v", out, tc.want)
			}
			for i, seq := range tc.want {
				f := strings.Fields(got[i+1])
				if len(f) != 8 || f[0] != seq {
					t.Errorf("line %d: %q, want the event at sequence %s", i+1, got[i+1], seq)
					continue
				}
				if _, err := time.Parse(time.RFC3339, f[1]); err != nil {
					t.Errorf("line %d: stored time %q: %v", i+1, f[1], err)
				}
				if rest := strings.Join(f[2:], " "); rest != lines[seq] {
					t.Errorf("line %d: %q, want %q", i+1, rest, lines[seq])
				}
			}
		})
	}

	t.Run("since", func(t *testing.T) {
		t.Parallel()
		code, out, errOut := runFor(t, 20*time.Second, "tail", "--config", regionFile, "--nats-url", env.URL,
			"--since", "2026-01-01T00:00:00Z", "--type", events.TypeEscalatie, "--count", "1")
		if lines := strings.Split(strings.TrimSpace(out), "\n"); code != 0 || len(lines) != 2 || !strings.HasPrefix(lines[1], "5 ") {
			t.Errorf("exit %d, stdout:\n%s\nstderr: %s\nwant the escalatie at sequence 5", code, out, errOut)
		}
	})

	t.Run("json", func(t *testing.T) {
		t.Parallel()
		code, out, errOut := runFor(t, 20*time.Second, append(append([]string{"tail"}, conn...), "--json", "--count", "5")...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		noEventData(t, out+errOut)
		got := strings.Split(strings.TrimSpace(out), "\n")
		if len(got) != 5 {
			t.Fatalf("%d lines, want 5:\n%s", len(got), out)
		}
		for i, line := range got {
			var obj map[string]any
			if err := json.Unmarshal([]byte(line), &obj); err != nil {
				t.Fatalf("line %d is not a JSON object: %v\n%s", i+1, err, line)
			}
			if _, ok := obj["data"]; ok {
				t.Errorf("line %d holds data: %s", i+1, line)
			}
			if obj["sequence"] != float64(i+1) || obj["subject"] == nil || obj["stored_at"] == nil || obj["specversion"] != "1.0" {
				t.Errorf("line %d: %s", i+1, line)
			}
		}
		var aan map[string]any
		_ = json.Unmarshal([]byte(got[1]), &aan)
		if aan["type"] != events.TypeAanmelding || aan["id"] != "aan-1" || aan["ontvanger"] != "ggz" || aan["partner_id"] != "politie" || aan["subject"] != personA {
			t.Errorf("aanmelding line: %v", aan)
		}
	})
}

// TestTailFollows: without a start, tail shows only what is stored after
// it started, and stops cleanly on Ctrl-C (its context ending).
func TestTailFollows(t *testing.T) {
	t.Parallel()
	env := natstest.Start(t)
	storeTailEvents(t, env)
	tail := start(t, "tail", "--config", regionFile, "--nats-url", env.URL)
	out, errOut := &tail.out, &tail.errOut
	tail.waitFor("header", 20*time.Second, func() bool { return strings.HasPrefix(out.String(), "SEQ ") })
	env.StoreEvent(t, "wijkteam", map[string]any{"specversion": "1.0", "type": events.TypeSignaal,
		"source": "urn:nld:oin:00000009999999990002:systeem:clientregistratie", "id": "sig-live", "subject": personB,
		"data": map[string]any{"bsn": tailBSN, "toelichting": tailToelichting}})
	tail.waitFor("live event", 20*time.Second, func() bool { return strings.Contains(out.String(), "sig-live") })

	tail.stop(10 * time.Second)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[1], "6 ") || !strings.HasSuffix(lines[1], " wijkteam") {
		t.Errorf("stdout:\n%s\nwant the header and only the event stored after the start (sequence 6)", out.String())
	}
	noEventData(t, out.String()+errOut.String())
}

// TestTailUsage: wrong flags are usage errors, checked before connecting;
// what may be a BSN is never repeated.
func TestTailUsage(t *testing.T) {
	t.Parallel()
	const bsn = "123456782"
	// The NATS URL leads nowhere: the flags are checked first.
	wantUsage(t, []string{"tail", "--nats-url", "nats://127.0.0.1:1"}, nil, []usageCase{
		{name: "unknown type", args: []string{"--type", "signaal"}, inStderr: `--type "signaal" is not an event type of the catalog; use one of: ` + strings.Join(events.Types(), ", ")},
		{name: "bad partner", args: []string{"--partner", "Politie"}, inStderr: `--partner "Politie" is not a partner id`},
		{name: "BSN as subject", args: []string{"--subject", bsn}, inStderr: "--subject is not a pseudonym: it must be 64 hex digits"},
		{name: "short subject", args: []string{"--subject", personA[:12]}, inStderr: "--subject is not a pseudonym"},
		{name: "BSN as argument", args: []string{bsn}, inStderr: "tail takes no arguments"},
		{name: "BSN as count", args: []string{"--count", bsn + "x"}, inStderr: "--count"},
		{name: "since and from-seq", args: []string{"--since", "2026-01-01T00:00:00Z", "--from-seq", "3"}, inStderr: "give --from-seq or --since, not both"},
		{name: "bad since", args: []string{"--since", "yesterday"}, inStderr: "is not an RFC 3339 time"},
	}, bsn)
}

// TestCompletion: cobra's completion command prints a shell script, and
// --partner of tail and publish completes the partner ids of the region
// config, --type of tail the catalog's types.
func TestCompletion(t *testing.T) {
	t.Parallel()
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		code, out, errOut := ketenbus(t, "", "completion", shell)
		if code != 0 || !strings.Contains(out, "ketenbus") || len(out) < 1000 {
			t.Errorf("completion %s: exit %d, %d bytes of script; stderr %s", shell, code, len(out), errOut)
		}
	}
	if _, out, _ := ketenbus(t, "", "completion", "bash"); !strings.Contains(out, "bash completion") || !strings.Contains(out, "__start_ketenbus") {
		t.Errorf("completion bash does not print a bash completion script:\n%.300s", out)
	}
	complete := func(args ...string) []string {
		t.Helper()
		code, out, errOut := ketenbus(t, "", append([]string{"__complete"}, args...)...)
		if code != 0 {
			t.Fatalf("__complete %v: exit %d: %s", args, code, errOut)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		return lines[:len(lines)-1] // the last line is the directive
	}
	partners := []string{"gemeente", "wijkteam", "zvh", "politie", "ggz", "veilig-thuis", "jeugdzorg", "wmo-team", "woningcorporatie"}
	for _, cmd := range []string{"tail", "publish"} {
		if got := complete(cmd, "--config", regionFile, "--partner", ""); strings.Join(got, " ") != strings.Join(partners, " ") {
			t.Errorf("%s --partner completes %v, want %v", cmd, got, partners)
		}
	}
	if got := complete("tail", "--type", ""); strings.Join(got, " ") != strings.Join(events.Types(), " ") {
		t.Errorf("tail --type completes %v, want %v", got, events.Types())
	}
}
