package werkdagen

import (
	"fmt"
	"time"
)

// Birthday18 returns the 18th birthday, at 00:00 Europe/Amsterdam, of someone
// born on geboortedatum (YYYY-MM-DD). Someone born on 29 February turns 18 on
// 1 March, since the 18th year after a leap year is a common year. The error
// names the field: `geboortedatum: "2008-13-01" is not a date (YYYY-MM-DD)`.
func Birthday18(geboortedatum string) (time.Time, error) {
	born, err := parseDate(geboortedatum)
	if err != nil {
		return time.Time{}, fmt.Errorf("geboortedatum: %w", err)
	}
	// time.Date normalises 29 February of a common year to 1 March.
	return date{born.y + 18, born.m, born.d}.start(), nil
}

// MonthsBefore returns t minus n calendar months in Europe/Amsterdam, with the
// same time of day, clamped to the last day of the target month: 31 August
// minus 6 months is 28 February (29 in a leap year). A negative n adds
// months under the same rule. The result is in the Europe/Amsterdam location.
func MonthsBefore(t time.Time, n int) time.Time {
	t = t.In(amsterdam)
	y, m, d := t.Date()
	hh, mm, ss := t.Clock()
	// Day 0 of the month after the target month is the target's last day.
	last := time.Date(y, m-time.Month(n)+1, 0, 0, 0, 0, 0, time.UTC).Day()
	return time.Date(y, m-time.Month(n), min(d, last), hh, mm, ss, t.Nanosecond(), amsterdam)
}
