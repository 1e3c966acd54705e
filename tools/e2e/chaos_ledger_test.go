//go:build stress

package e2e

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// normalLatency is how long a delivery may take after its event was
// accepted, or an escalatie after its term, and still count as normal.
const normalLatency = 2 * time.Second

// phase is one fault: the time it was injected, and the events accepted
// from the start of the phase to the start of the next one are its own.
type phase struct {
	name         string
	start, fault time.Time
	end          time.Time
}

// partnerRow is what one partner saw of a phase: Due counts the accepted
// events it should receive.
type partnerRow struct {
	Due        int `json:"due"`
	Delivered  int `json:"delivered"`
	Lost       int `json:"lost"`
	Duplicates int `json:"duplicates"`
}

// row is the line of one fault in the table: the events the gateway
// accepted in its phase, and, summed over the partners, the deliveries
// due for them and what became of those.
type row struct {
	Fault      string  `json:"fault"`
	Accepted   int     `json:"accepted"`
	Due        int     `json:"deliveries_due"`
	Delivered  int     `json:"delivered"`
	Lost       int     `json:"lost"`
	Duplicates int     `json:"duplicates"`
	EscExpect  int     `json:"escalaties_expected"`
	EscFired   int     `json:"escalaties_fired"`
	EscDoubled int     `json:"escalaties_doubled"`
	RecoveryS  float64 `json:"recovery_seconds"`
	// EscRecoveryS is the same for escalaties: from the fault until each
	// arrived within normalLatency of its term.
	EscRecoveryS float64               `json:"escalaties_recovery_seconds"`
	Partners     map[string]partnerRow `json:"partners"`
	// Missing names the first lost deliveries ("partner: source id") and
	// escalaties not fired ("escalatie: source id"), for the log.
	Missing []string `json:"missing,omitempty"`
	// LateEsc names the first escalaties that came late.
	LateEsc []string `json:"late_escalaties,omitempty"`
}

// maxMissing bounds the names a row keeps of what went missing.
const maxMissing = 20

// owns reports whether s was accepted in the phase.
func (ph phase) owns(s sent) bool {
	return !s.accepted.IsZero() && !s.accepted.Before(ph.start) && s.accepted.Before(ph.end)
}

func (r *row) missing(what string) {
	if len(r.Missing) < maxMissing {
		r.Missing = append(r.Missing, what)
	}
}

// expects reports whether partner p should receive s: every signaal, and
// the aanmeldingen referred to p.
func expects(s sent, p string) bool {
	switch s.typ {
	case typeSignaal:
		return true
	case typeAanmelding:
		return s.ontvanger == p
	}
	return false
}

// tally computes the rows of phases from what the load sent and the sinks
// took. escalatieSink is the partner that receives the escalaties.
func tally(phases []phase, evs []sent, sinks map[string][]delivery, escalatieSink string) []row {
	type firstSeen struct {
		at    time.Time
		count int
		hooks map[string]bool
	}
	seen := map[string]map[string]*firstSeen{} // partner -> event key -> deliveries
	esc := map[string]map[string]bool{}        // betreft -> escalatie event keys at level 1
	escAt := map[string]time.Time{}            // betreft -> when its first escalatie arrived
	for p, ds := range sinks {
		seen[p] = map[string]*firstSeen{}
		for _, d := range ds {
			if d.typ == typeEscalatie {
				if p == escalatieSink && d.niveau == 1 {
					if esc[d.betreft] == nil {
						esc[d.betreft] = map[string]bool{}
					}
					esc[d.betreft][d.key] = true
					if at, ok := escAt[d.betreft]; !ok || d.at.Before(at) {
						escAt[d.betreft] = d.at
					}
				}
			}
			f := seen[p][d.key]
			if f == nil {
				f = &firstSeen{at: d.at, hooks: map[string]bool{}}
				seen[p][d.key] = f
			}
			f.count++
			f.hooks[d.webhookID] = true
			if d.at.Before(f.at) {
				f.at = d.at
			}
		}
	}
	partners := slices.Sorted(func(yield func(string) bool) {
		for p := range sinks {
			if !yield(p) {
				return
			}
		}
	})
	rows := make([]row, len(phases))
	for i, ph := range phases {
		r := row{Fault: ph.name, Partners: map[string]partnerRow{}}
		var slowest, slowestEsc time.Time
		for _, p := range partners {
			var pr partnerRow
			for _, s := range evs {
				if !ph.owns(s) || !expects(s, p) {
					continue
				}
				pr.Due++
				f := seen[p][s.key]
				if f == nil {
					pr.Lost++
					r.missing(p + ": " + s.key)
					continue
				}
				pr.Delivered++
				pr.Duplicates += f.count - 1
				if late := f.at.Sub(s.accepted); late > normalLatency && f.at.After(slowest) {
					slowest = f.at
				}
			}
			r.Partners[p] = pr
			r.Due += pr.Due
			r.Delivered += pr.Delivered
			r.Lost += pr.Lost
			r.Duplicates += pr.Duplicates
		}
		for _, s := range evs {
			if !ph.owns(s) {
				continue
			}
			r.Accepted++
			if !s.short {
				continue
			}
			r.EscExpect++
			switch n := len(esc[s.key]); {
			case n == 0:
				r.missing("escalatie: " + s.key)
			case n > 1:
				r.EscDoubled++
				fallthrough
			default:
				r.EscFired++
				// An escalatie is normal when it arrives within
				// normalLatency of its term (uiterlijk, whole seconds).
				if at := escAt[s.key]; at.Sub(s.due) > normalLatency+time.Second {
					if len(r.LateEsc) < maxMissing {
						r.LateEsc = append(r.LateEsc, fmt.Sprintf("%s: term %s, accepted %s, escalatie %s",
							s.key, s.due.Format("15:04:05.0"), s.accepted.Format("15:04:05.0"), at.Format("15:04:05.0")))
					}
					if at.After(slowestEsc) {
						slowestEsc = at
					}
				}
			}
		}
		if slowest.After(ph.fault) {
			r.RecoveryS = slowest.Sub(ph.fault).Seconds()
		}
		if slowestEsc.After(ph.fault) {
			r.EscRecoveryS = slowestEsc.Sub(ph.fault).Seconds()
		}
		rows[i] = r
	}
	return rows
}

// printTable writes rows as a Markdown table, then one line per partner
// and fault where something was lost or duplicated.
func printTable(w io.Writer, rows []row) {
	fmt.Fprintln(w, "| fault | accepted | deliveries due | delivered | lost | duplicates | escalaties expected / fired / doubled | recovery s | escalaties on time again s |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %d | %d | %d | %d | %d | %d / %d / %d | %.1f | %.1f |\n",
			r.Fault, r.Accepted, r.Due, r.Delivered, r.Lost, r.Duplicates, r.EscExpect, r.EscFired, r.EscDoubled, r.RecoveryS, r.EscRecoveryS)
	}
	var notes []string
	for _, r := range rows {
		for _, p := range slices.Sorted(func(yield func(string) bool) {
			for p := range r.Partners {
				if !yield(p) {
					return
				}
			}
		}) {
			pr := r.Partners[p]
			if pr.Lost > 0 || pr.Duplicates > 0 {
				notes = append(notes, fmt.Sprintf("- %s, %s: due %d, delivered %d, lost %d, duplicates %d", r.Fault, p, pr.Due, pr.Delivered, pr.Lost, pr.Duplicates))
			}
		}
	}
	if len(notes) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, strings.Join(notes, "\n"))
	}
}
