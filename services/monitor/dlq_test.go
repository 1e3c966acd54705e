package monitor_test

import (
	"context"
	"fmt"
	"regexp"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/monitor"
	"github.com/ketenbus/ketenbus/services/shared/bus"
	"github.com/ketenbus/ketenbus/services/shared/dlq"
)

// TestPartnerPageShowsNewestLetters: a partner page shows the newest 200
// of a longer DLQ and says so, and stays right when letters go.
func TestPartnerPageShowsNewestLetters(t *testing.T) {
	t.Parallel()
	base, env := monitorOnly(t, monitor.Auth{Open: true})
	ctx := context.Background()
	const total = 205
	for i := 1; i <= total; i++ {
		m := nats.NewMsg(events.DLQSubject("ggz"))
		m.Data = fmt.Appendf(nil, `{"specversion":"1.0","id":"d-%d","type":"nl.sociaaldomein.signaal.v1"}`, i)
		m.Header.Set(bus.HeaderSubscription, "signalen")
		m.Header.Set(bus.HeaderDLQReason, "http 400")
		if _, err := env.JS.PublishMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	rows := regexp.MustCompile(`data-dlq-seq="(\d+)"`)
	shows := func(wantShown string, wantNewest, wantOldest int) {
		t.Helper()
		body := page(t, base, "/partners/ggz")
		seqs := rows.FindAllStringSubmatch(body, -1)
		if len(seqs) != 200 {
			t.Fatalf("the page shows %d dead letters, want 200", len(seqs))
		}
		if got := seqs[0][1] + ".." + seqs[len(seqs)-1][1]; got != fmt.Sprintf("%d..%d", wantNewest, wantOldest) {
			t.Errorf("the page shows letters %s, want %d..%d (newest first)", got, wantNewest, wantOldest)
		}
		if want := `id="dlq-shown">(` + wantShown + `)`; !regexp.MustCompile(regexp.QuoteMeta(want)).MatchString(body) {
			t.Errorf("the page does not say %q", want)
		}
	}
	shows("de nieuwste 200 van 205", 205, 6)
	shows("de nieuwste 200 van 205", 205, 6) // read again from where they began

	store, err := dlq.Open(ctx, env.JS)
	if err != nil {
		t.Fatal(err)
	}
	for seq := uint64(total); seq > total-4; seq-- {
		if err := store.Delete(ctx, seq, false); err != nil {
			t.Fatal(err)
		}
	}
	shows("de nieuwste 200 van 201", 201, 2)
	if err := store.Delete(ctx, 201, false); err != nil {
		t.Fatal(err)
	}
	shows("200", 200, 1)
}
