package escalator

import (
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/timers"
	"github.com/ketenbus/ketenbus/services/shared/werkdagen"
)

// TestLadderNext: each level is due its after_working_days after the
// level before it fired, however late that was; dated overdracht levels
// keep their dates.
func TestLadderNext(t *testing.T) {
	t.Parallel()
	cal, err := werkdagen.New(werkdagen.Config{LiberationDay: region.LiberationDayLustrum})
	if err != nil {
		t.Fatal(err)
	}
	l := &ladder{cal: cal, levels: []region.Level{
		{Level: 1, AfterWorkingDays: 0, To: []string{"zvh"}},
		{Level: 2, AfterWorkingDays: 3, To: []string{"gemeente"}},
		{Level: 3, AfterWorkingDays: 2, To: []string{"burgemeester"}},
	}}
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	aanmelding := timers.Timer{Kind: kindAanmelding, Level: 1, Termijn: at("2026-06-02T00:00:00+02:00"), Due: at("2026-06-02T00:00:00+02:00")}
	overdracht := timers.Timer{Kind: kindOverdracht, Level: 0, Termijn: at("2026-06-15T00:00:00+02:00"),
		Due: at("2026-03-15T00:00:00+01:00"), Anchor: at("2026-09-15T00:00:00+02:00")}
	accepted := overdracht
	accepted.Level, accepted.Due = 1, accepted.Termijn
	for _, tc := range []struct {
		name    string
		t       timers.Timer
		firedAt time.Time
		level   int
		due     string
		done    bool
	}{
		{"on time: three working days after level 1 was due (Tue → Fri)", aanmelding, at("2026-06-02T00:00:00.2+02:00"), 2, "2026-06-06T00:00:00+02:00", false},
		{"late: three working days after level 1 fired (Wed → Mon)", aanmelding, at("2026-07-01T10:00:00+02:00"), 2, "2026-07-07T00:00:00+02:00", false},
		{"level 3 late: two working days after level 2 fired (Fri → Tue)", func() timers.Timer { t := aanmelding; t.Level = 2; return t }(), at("2026-07-03T10:00:00+02:00"), 3, "2026-07-08T00:00:00+02:00", false},
		{"the last level: done", func() timers.Timer { t := aanmelding; t.Level = 3; return t }(), at("2026-07-03T10:00:00+02:00"), 3, "", true},
		{"reminder on time: the acceptance date", overdracht, at("2026-03-15T00:00:01+01:00"), 1, "2026-06-15T00:00:00+02:00", false},
		{"reminder after the acceptance date: level 1 after it", overdracht, at("2026-07-01T10:00:00+02:00"), 1, "2026-07-01T10:00:00+02:00", false},
		{"acceptance on time: the birthday", accepted, at("2026-06-15T00:00:01+02:00"), 2, "2026-09-15T00:00:00+02:00", false},
		{"acceptance fired after the birthday: three working days later", accepted, at("2026-09-21T10:00:00+02:00"), 2, "2026-09-25T00:00:00+02:00", false},
	} {
		n, more := l.next(tc.t, tc.firedAt)
		if tc.done {
			if more {
				t.Errorf("%s: next %+v, want the ladder done", tc.name, n)
			}
			continue
		}
		if !more || n.Level != tc.level || !n.Due.Equal(at(tc.due)) {
			t.Errorf("%s: level %d due %s (more %v), want level %d due %s", tc.name, n.Level, n.Due.Format(time.RFC3339), more, tc.level, tc.due)
		}
	}
}
