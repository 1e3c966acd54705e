package werkdagen

import (
	"time"
	// The time zone data is embedded so that Europe/Amsterdam loads on
	// machines without zoneinfo.
	_ "time/tzdata"
)

// amsterdam is the location every date decision is made in.
var amsterdam = mustLoadLocation("Europe/Amsterdam")

func mustLoadLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic("werkdagen: load " + name + ": " + err.Error())
	}
	return loc
}

// Calendar decides which days are working days and when terms end. It is
// immutable after [New] and safe for concurrent use.
type Calendar struct {
	goodFriday      bool
	liberationEvery bool
	closures        map[date]struct{}
}

// New returns the calendar that cfg describes. It fails with the error of
// [Config.Validate] when cfg is not valid.
func New(cfg Config) (*Calendar, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Calendar{
		goodFriday:      cfg.GoodFriday,
		liberationEvery: cfg.LiberationDay == LiberationDayEvery,
		closures:        make(map[date]struct{}, len(cfg.ClosureDays)),
	}
	for _, s := range cfg.ClosureDays {
		d, _ := parseDate(s) // checked by Validate
		c.closures[d] = struct{}{}
	}
	return c, nil
}

// Holiday reports whether the day of date, in Europe/Amsterdam, is a public
// holiday or a closure day, and returns its Dutch name, such as
// "Tweede Paasdag". Closure days from [Config.ClosureDays] are named
// "Sluitingsdag". When two holidays coincide (Hemelvaartsdag on 5 May) the
// movable feast is named. Holiday says nothing about weekends.
func (c *Calendar) Holiday(date time.Time) (name string, ok bool) {
	return c.holiday(dateOf(date.In(amsterdam)))
}

// IsWorkingDay reports whether the day of t, in Europe/Amsterdam, is a
// Monday to Friday that is neither a holiday nor a closure day.
func (c *Calendar) IsWorkingDay(t time.Time) bool {
	return c.isWorkingDay(dateOf(t.In(amsterdam)))
}

func (c *Calendar) isWorkingDay(d date) bool {
	switch d.weekday() {
	case time.Saturday, time.Sunday:
		return false
	}
	_, holiday := c.holiday(d)
	return !holiday
}

// Deadline returns when a term of n working days that starts at t ends: the
// end of the n-th working day after the day of t in Europe/Amsterdam. The day
// of t itself never counts, whatever the hour, so an event at 23:59 on a
// Monday and one at 00:00 that Monday have the same deadline. The end of a
// day is the instant the next calendar day begins (00:00 Europe/Amsterdam),
// so the term is met by anything that happens before the deadline, that is
// at the latest on its last working day.
//
// For n = 0 Deadline returns the end of the day of t when that is a working
// day, and otherwise the end of the next working day. A negative n counts as
// 0. The result is in the Europe/Amsterdam location.
func (c *Calendar) Deadline(t time.Time, n int) time.Time {
	d := dateOf(t.In(amsterdam))
	if n <= 0 {
		for !c.isWorkingDay(d) {
			d = d.addDays(1)
		}
		return d.addDays(1).start()
	}
	for n > 0 {
		d = d.addDays(1)
		if c.isWorkingDay(d) {
			n--
		}
	}
	return d.addDays(1).start()
}

// EndOfDay returns the end of the day of t in Europe/Amsterdam: the instant
// the next calendar day begins there, in the Europe/Amsterdam location. A day
// with a daylight saving time change is 23 or 25 hours long; EndOfDay
// follows the calendar, not a fixed 24 hours. An "uiterlijk" date-time that
// is already an instant is used as is, without EndOfDay.
func EndOfDay(t time.Time) time.Time {
	return dateOf(t.In(amsterdam)).addDays(1).start()
}
