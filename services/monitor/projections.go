package monitor

import (
	"context"
	"fmt"
	"time"

	"github.com/ketenbus/ketenbus/services/shared/projection"
)

// projectionView is what a page says, in Dutch, about a projection of
// EVENTS in Redis (the timers, the samenloop index): that it is being
// rebuilt and since when, that it is incomplete, or when it was last
// rebuilt and why.
type projectionView struct {
	// ID names its element: rebuild-<ID> while incomplete, rebuilt-<ID>
	// after a rebuild.
	ID string
	// Alert is set while the projection is incomplete; Text says what
	// there is to say, empty when nothing.
	Alert bool
	Text  string
}

// projectionNames are the Dutch words for one projection.
type projectionNames struct {
	id      string
	what    string // "De termijnen"
	plural  bool
	keeper  string // who rebuilds it
	waits   string // what waits meanwhile
	command string // the CLI command that rebuilds it
}

var (
	timersNames = projectionNames{id: "termijnen", what: "De termijnen", plural: true, keeper: "de escalator",
		waits: "Tot dat klaar is gaan er geen escalaties uit; daarna gaan ze verder, geen dubbel.", command: "ketenbus timers rebuild"}
	samenloopNames = projectionNames{id: "samenloop", what: "De samenloopindex", keeper: "de samenloopdienst",
		waits: "Tot dat klaar wachten nieuwe signalen; daarna worden ze verwerkt.", command: "ketenbus samenloop rebuild"}
)

// reasons says, in Dutch, why a projection was rebuilt.
var reasons = map[string]string{
	projection.ReasonEmpty:    "Redis was leeg (herstart zonder opslag, geleegd, of een nieuwe regio)",
	projection.ReasonUnmarked: "de gegevens in Redis hadden geen markering dat ze compleet waren (de eerste start van deze versie, of een herbouw die niet afkwam)",
	projection.ReasonBehind:   "Redis miste zijn laatste wijzigingen (bijvoorbeeld na een failover)",
}

// viewOf says what st, read at now (err when it could not be read), means
// for the projection called n; times in loc.
func viewOf(n projectionNames, st projection.State, err error, now time.Time, loc *time.Location) projectionView {
	v := projectionView{ID: n.id}
	is, are, them := "is", "wordt", "hem"
	if n.plural {
		is, are, them = "zijn", "worden", "ze"
	}
	switch {
	case err != nil:
		return v // the page says Redis does not answer
	case st.Rebuilding:
		v.Alert = true
		v.Text = fmt.Sprintf("%s %s opnieuw opgebouwd uit EVENTS, sinds %s (%s). %s",
			n.what, are, st.Since.In(loc).Format("02-01-2006 15:04:05"), dutchAge(now.Sub(st.Since)), n.waits)
	case !st.Complete:
		v.Alert = true
		v.Text = fmt.Sprintf("%s %s niet compleet in Redis; %s bouwt %s opnieuw op uit EVENTS zodra hij draait. %s",
			n.what, is, n.keeper, them, n.waits)
	case st.Built.IsZero() || (st.Events == 0 && st.Reason == projection.ReasonEmpty):
		// Never rebuilt, or built for a new region: nothing was missing.
	case st.Reason == projection.ReasonRequested:
		v.Text = fmt.Sprintf("%s %s laatst opnieuw opgebouwd op verzoek (%s) op %s, uit %d events in %s.",
			n.what, is, n.command, st.Built.In(loc).Format("02-01-2006 15:04"), st.Events, took(st.Took))
	default:
		why := reasons[st.Reason]
		if why == "" {
			why = "reden onbekend"
		}
		v.Text = fmt.Sprintf("%s %s laatst automatisch opnieuw opgebouwd op %s, uit %d events in %s: %s.",
			n.what, is, st.Built.In(loc).Format("02-01-2006 15:04"), st.Events, took(st.Took), why)
	}
	return v
}

// took says how long a rebuild took, in Dutch.
func took(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
	return dutchAge(d)
}

// projections reads what Redis says about the timers and the samenloop
// index; nil without Redis.
func (m *Monitor) projections(ctx context.Context) (timersView, samenloopView *projectionView) {
	if m.cfg.Redis == nil {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	now, loc := m.cfg.Now(), m.cfg.Location
	read := func(n projectionNames, k projection.Keys) *projectionView {
		st, err := projection.Read(ctx, m.cfg.Redis, k)
		v := viewOf(n, st, err, now, loc)
		return &v
	}
	return read(timersNames, m.timers.Projection()), read(samenloopNames, m.samenloop.Projection())
}
