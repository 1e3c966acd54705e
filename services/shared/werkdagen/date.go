package werkdagen

import "time"

// date is a calendar day, without a time or a location.
type date struct {
	y int
	m time.Month
	d int
}

// dateOf returns the day of t in t's own location.
func dateOf(t time.Time) date {
	y, m, d := t.Date()
	return date{y, m, d}
}

// utc returns the day at 00:00 UTC, a location without daylight saving time,
// for pure calendar arithmetic.
func (d date) utc() time.Time {
	return time.Date(d.y, d.m, d.d, 0, 0, 0, 0, time.UTC)
}

// start returns the instant d begins in Europe/Amsterdam. Midnight always
// exists there: the clocks change at 02:00 and 03:00.
func (d date) start() time.Time {
	return time.Date(d.y, d.m, d.d, 0, 0, 0, 0, amsterdam)
}

func (d date) addDays(n int) date {
	return dateOf(time.Date(d.y, d.m, d.d+n, 0, 0, 0, 0, time.UTC))
}

func (d date) weekday() time.Weekday {
	return d.utc().Weekday()
}

// sub returns the number of days from e to d.
func (d date) sub(e date) int {
	return int(d.utc().Sub(e.utc()) / (24 * time.Hour))
}
