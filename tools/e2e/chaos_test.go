//go:build stress

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The suite's load and timing.
const (
	eventRate = 500 // events per second
	// steady is how long the load runs before and after each fault.
	steady = 15 * time.Second
	// term is how long after it was sent the short term of an aanmelding
	// falls due.
	term = 12 * time.Second
	// settleWithin bounds the wait after the last fault for every accepted
	// event to be delivered and every due escalatie fired.
	settleWithin = 4 * time.Minute
	// dlqLetters is how many dead letters the refusing partner collects
	// before it is repaired and its DLQ retried.
	dlqLetters = 1000
)

// The partners of the suite's region: politie publishes, the four others
// receive by webhook; zvh is the first escalation level.
var (
	receivers     = []string{"ggz", "wijkteam", "veilig-thuis", "zvh"}
	escalatieSink = "zvh"
)

func TestChaos(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	sinks := map[string]*chaosSink{}
	for _, p := range receivers {
		s, err := newChaosSink(p)
		if err != nil {
			t.Fatal(err)
		}
		defer s.stop()
		sinks[p] = s
	}
	st := upStack(t, sinks)

	l := &load{gateway: st.gatewayURL(), token: st.env("KETENBUS_TOKEN_POLITIE"), source: politieSource,
		receivers: receivers, rate: eventRate, batchEvery: 10, batchSize: 20, shortEvery: 10, term: term, workers: 96}
	l.init()
	loadCtx, stopLoad := context.WithCancel(ctx)
	loadDone := make(chan struct{})
	go func() { defer close(loadDone); l.runLoad(loadCtx) }()

	var phases []phase
	begin := func(name string) *phase {
		now := time.Now()
		if n := len(phases); n > 0 {
			phases[n-1].end = now
		}
		phases = append(phases, phase{name: name, start: now, fault: now})
		return &phases[len(phases)-1]
	}
	only, err := regexp.Compile(os.Getenv("KETENBUS_CHAOS_FAULTS"))
	if err != nil {
		t.Fatalf("KETENBUS_CHAOS_FAULTS: %v", err)
	}
	for _, f := range faults(st, sinks) {
		if !only.MatchString(f.name) {
			continue
		}
		ph := begin(f.name)
		t.Logf("%s: %s", time.Now().Format("15:04:05"), f.name)
		time.Sleep(steady)
		ph.fault = time.Now()
		if err := f.inject(ctx); err != nil {
			t.Errorf("%s: %v", f.name, err)
		}
		time.Sleep(steady)
	}
	phases[len(phases)-1].end = time.Now()
	stopLoad()
	<-loadDone

	// Settle: wait until every accepted event reached its partners and
	// every short term that fell due was escalated, or the time is up.
	evs, refused := l.snapshot()
	deadline := time.Now().Add(settleWithin)
	var rows []row
	for {
		rows = tally(phases, evs, takenBy(sinks), escalatieSink)
		missing := 0
		for _, r := range rows {
			missing += r.Lost + (r.EscExpect - r.EscFired)
		}
		if missing == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(2 * time.Second)
	}

	accepted := 0
	for _, r := range rows {
		accepted += r.Accepted
	}
	span := phases[len(phases)-1].end.Sub(phases[0].start)
	var table strings.Builder
	printTable(&table, rows)
	fmt.Fprintf(&table, "\nThe load asked %d events/s and got %.0f/s accepted over %s.\n", eventRate, float64(accepted)/span.Seconds(), span.Round(time.Second))
	fmt.Fprintf(&table, "\n| process | CPU s (since its last start) | peak RSS MiB |\n| --- | ---: | ---: |\n")
	for _, u := range st.usages() {
		fmt.Fprintf(&table, "| %s | %.0f | %.0f |\n", u.name, u.cpu, u.peakMiB)
	}
	t.Logf("chaos table (%s steady before and after each fault):\n%s", steady, table.String())
	for _, r := range rows {
		if len(r.Missing) > 0 {
			t.Logf("%s: missing (the first %d): %s", r.Fault, len(r.Missing), strings.Join(r.Missing, "; "))
		}
		if len(r.LateEsc) > 0 {
			t.Logf("%s: late escalaties (the first %d): %s", r.Fault, len(r.LateEsc), strings.Join(r.LateEsc, "; "))
		}
	}
	writeResults(t, rows, table.String())
	st.keepLogs()

	for _, r := range refused {
		t.Errorf("unexpected gateway answer: %s", r)
	}
	for _, r := range rows {
		if r.Lost > 0 {
			t.Errorf("%s: %d deliveries lost", r.Fault, r.Lost)
		}
		if r.EscFired < r.EscExpect {
			t.Errorf("%s: %d of %d escalaties not fired", r.Fault, r.EscExpect-r.EscFired, r.EscExpect)
		}
		if r.EscDoubled > 0 {
			t.Errorf("%s: %d escalaties fired twice", r.Fault, r.EscDoubled)
		}
	}
}

// takenBy returns what each sink took.
func takenBy(sinks map[string]*chaosSink) map[string][]delivery {
	out := map[string][]delivery{}
	for p, s := range sinks {
		out[p] = s.taken()
	}
	return out
}

// writeResults keeps the table and its rows under testoutput/ at the
// repository root, for docs/reliability.md.
func writeResults(t *testing.T, rows []row, table string) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Log(err)
		return
	}
	dir := filepath.Join(root, "testoutput")
	if err = os.MkdirAll(dir, 0o755); err != nil {
		t.Log(err)
		return
	}
	b, _ := json.MarshalIndent(rows, "", "  ")
	_ = os.WriteFile(filepath.Join(dir, "chaos.json"), append(b, '\n'), 0o644)
	_ = os.WriteFile(filepath.Join(dir, "chaos.md"), []byte(fmt.Sprintf("%s\n%s", time.Now().UTC().Format(time.RFC3339), table)), 0o644)
}
