package werkdagen

import (
	"errors"
	"fmt"
	"time"
)

// Values of [Config.LiberationDay].
const (
	// LiberationDayEvery makes Bevrijdingsdag (5 May) a holiday every year.
	LiberationDayEvery = "every"
	// LiberationDayLustrum makes Bevrijdingsdag a holiday only in years
	// divisible by 5 (2025, 2030, ...). It is the default.
	LiberationDayLustrum = "lustrum"
)

// Config mirrors the region config's escalation calendar keys
// (escalation.good_friday, escalation.liberation_day, escalation.closure_days).
// The zero value is valid: no Goede Vrijdag, Bevrijdingsdag in lustrum years,
// no closure days.
type Config struct {
	// GoodFriday makes Goede Vrijdag a closure day (default false).
	GoodFriday bool
	// LiberationDay is LiberationDayEvery or LiberationDayLustrum; empty
	// means LiberationDayLustrum.
	LiberationDay string
	// ClosureDays are extra closure dates in Europe/Amsterdam, formatted
	// YYYY-MM-DD, such as "2026-12-24".
	ClosureDays []string
}

func (c *Config) setDefaults() {
	if c.LiberationDay == "" {
		c.LiberationDay = LiberationDayLustrum
	}
}

// Validate reports every problem in c, joined with [errors.Join]. Each error
// text starts with the field it is about, such as
// `closure_days[1]: "2026-13-01" is not a date (YYYY-MM-DD)`.
// An empty LiberationDay is valid (it means lustrum); a closure day listed
// twice is harmless and accepted.
func (c Config) Validate() error {
	var errs []error
	switch c.LiberationDay {
	case "", LiberationDayEvery, LiberationDayLustrum:
	default:
		errs = append(errs, fmt.Errorf("liberation_day: %q is not %s or %s", c.LiberationDay, LiberationDayEvery, LiberationDayLustrum))
	}
	for i, day := range c.ClosureDays {
		if _, err := parseDate(day); err != nil {
			errs = append(errs, fmt.Errorf("closure_days[%d]: %w", i, err))
		}
	}
	return errors.Join(errs...)
}

// parseDate parses a YYYY-MM-DD date.
func parseDate(s string) (date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return date{}, fmt.Errorf("%q is not a date (YYYY-MM-DD)", s)
	}
	return dateOf(t), nil
}
