package werkdagen_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/services/shared/werkdagen"
)

var amsterdam = mustLoad(time.LoadLocation("Europe/Amsterdam"))

func mustLoad(loc *time.Location, err error) *time.Location {
	if err != nil {
		panic(err)
	}
	return loc
}

func newCalendar(t *testing.T, cfg werkdagen.Config) *werkdagen.Calendar {
	t.Helper()
	c, err := werkdagen.New(cfg)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	return c
}

// noon returns 12:00 Europe/Amsterdam on the YYYY-MM-DD day s.
func noon(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.ParseInLocation(time.DateOnly, s, amsterdam)
	if err != nil {
		t.Fatal(err)
	}
	return d.Add(12 * time.Hour)
}

func instant(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestEaster(t *testing.T) {
	t.Parallel()
	cal := newCalendar(t, werkdagen.Config{})
	for _, easter := range []string{
		"1900-04-15", "1913-03-23", "1943-04-25", "1954-04-18", "1961-04-02",
		"2000-04-23", "2008-03-23", "2011-04-24", "2019-04-21", "2024-03-31",
		"2025-04-20", "2026-04-05", "2027-03-28", "2038-04-25", "2100-03-28",
		"2160-03-23", "2200-04-06",
	} {
		t.Run(easter, func(t *testing.T) {
			t.Parallel()
			day := noon(t, easter)
			if name, ok := cal.Holiday(day); !ok || name != "Eerste Paasdag" {
				t.Errorf("Holiday(%s) = %q, %v; want Eerste Paasdag", easter, name, ok)
			}
			if name, ok := cal.Holiday(day.AddDate(0, 0, 1)); !ok || name != "Tweede Paasdag" {
				t.Errorf("Holiday(%s + 1) = %q, %v; want Tweede Paasdag", easter, name, ok)
			}
		})
	}
}

// TestHolidaysEveryYear checks the movable feasts for every year in range:
// Easter on a Sunday between 22 March and 25 April, Hemelvaartsdag on a
// Thursday, Tweede Pinksterdag on a Monday, and the fixed days present.
func TestHolidaysEveryYear(t *testing.T) {
	t.Parallel()
	cal := newCalendar(t, werkdagen.Config{GoodFriday: true, LiberationDay: werkdagen.LiberationDayEvery})
	for year := 1900; year <= 2200; year++ {
		found := map[string]time.Time{}
		for day := time.Date(year, time.January, 1, 12, 0, 0, 0, amsterdam); day.Year() == year; day = day.AddDate(0, 0, 1) {
			if name, ok := cal.Holiday(day); ok {
				if _, twice := found[name]; twice {
					t.Fatalf("%d: %s twice", year, name)
				}
				found[name] = day
			}
		}
		queen := "Koningsdag"
		if year < 2014 {
			queen = "Koninginnedag"
		}
		want := []string{"Nieuwjaarsdag", "Goede Vrijdag", "Eerste Paasdag", "Tweede Paasdag", queen,
			"Hemelvaartsdag", "Eerste Pinksterdag", "Tweede Pinksterdag", "Eerste Kerstdag", "Tweede Kerstdag"}
		for _, name := range want {
			if _, ok := found[name]; !ok {
				t.Fatalf("%d: no %s", year, name)
			}
		}
		easter := found["Eerste Paasdag"]
		earliest := time.Date(year, time.March, 22, 0, 0, 0, 0, amsterdam)
		latest := time.Date(year, time.April, 25, 23, 0, 0, 0, amsterdam)
		if easter.Weekday() != time.Sunday || easter.Before(earliest) || easter.After(latest) {
			t.Errorf("%d: Easter on %s", year, easter.Format("Mon 2006-01-02"))
		}
		for name, weekday := range map[string]time.Weekday{
			"Goede Vrijdag": time.Friday, "Tweede Paasdag": time.Monday, "Hemelvaartsdag": time.Thursday,
			"Eerste Pinksterdag": time.Sunday, "Tweede Pinksterdag": time.Monday,
		} {
			if got := found[name].Weekday(); got != weekday {
				t.Errorf("%d: %s on a %s", year, name, got)
			}
		}
		if k := found[queen]; k.Weekday() == time.Sunday || k.Month() != time.April {
			t.Errorf("%d: %s on %s", year, queen, k.Format("Mon 2006-01-02"))
		}
	}
}

func TestHoliday(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  werkdagen.Config
		day  time.Time
		want string // "" for no holiday
	}{
		{"plain wednesday", werkdagen.Config{}, noon(t, "2026-03-11"), ""},
		{"nieuwjaarsdag", werkdagen.Config{}, noon(t, "2027-01-01"), "Nieuwjaarsdag"},
		{"goede vrijdag off", werkdagen.Config{}, noon(t, "2026-04-03"), ""},
		{"goede vrijdag on", werkdagen.Config{GoodFriday: true}, noon(t, "2026-04-03"), "Goede Vrijdag"},
		{"tweede paasdag", werkdagen.Config{}, noon(t, "2026-04-06"), "Tweede Paasdag"},
		{"koningsdag 2025 on saturday 26th", werkdagen.Config{}, noon(t, "2025-04-26"), "Koningsdag"},
		{"27 april 2025 is a sunday", werkdagen.Config{}, noon(t, "2025-04-27"), ""},
		{"koningsdag 2026", werkdagen.Config{}, noon(t, "2026-04-27"), "Koningsdag"},
		{"26 april 2026", werkdagen.Config{}, noon(t, "2026-04-26"), ""},
		{"koningsdag 2031 on saturday 26th", werkdagen.Config{}, noon(t, "2031-04-26"), "Koningsdag"},
		{"koningsdag 2014 on saturday 26th", werkdagen.Config{}, noon(t, "2014-04-26"), "Koningsdag"},
		{"koninginnedag 2013", werkdagen.Config{}, noon(t, "2013-04-30"), "Koninginnedag"},
		{"koninginnedag 2006 on saturday 29th", werkdagen.Config{}, noon(t, "2006-04-29"), "Koninginnedag"},
		{"no koningsdag before 2014", werkdagen.Config{}, noon(t, "2013-04-27"), ""},
		{"bevrijdingsdag 2025 lustrum", werkdagen.Config{}, noon(t, "2025-05-05"), "Bevrijdingsdag"},
		{"bevrijdingsdag 2030 lustrum", werkdagen.Config{LiberationDay: werkdagen.LiberationDayLustrum}, noon(t, "2030-05-05"), "Bevrijdingsdag"},
		{"bevrijdingsdag 2026 lustrum", werkdagen.Config{}, noon(t, "2026-05-05"), ""},
		{"bevrijdingsdag 2026 every", werkdagen.Config{LiberationDay: werkdagen.LiberationDayEvery}, noon(t, "2026-05-05"), "Bevrijdingsdag"},
		{"hemelvaartsdag 2026", werkdagen.Config{}, noon(t, "2026-05-14"), "Hemelvaartsdag"},
		{"hemelvaartsdag on 5 may 2016", werkdagen.Config{LiberationDay: werkdagen.LiberationDayEvery}, noon(t, "2016-05-05"), "Hemelvaartsdag"},
		{"eerste pinksterdag 2026", werkdagen.Config{}, noon(t, "2026-05-24"), "Eerste Pinksterdag"},
		{"tweede pinksterdag 2026", werkdagen.Config{}, noon(t, "2026-05-25"), "Tweede Pinksterdag"},
		{"eerste kerstdag", werkdagen.Config{}, noon(t, "2026-12-25"), "Eerste Kerstdag"},
		{"tweede kerstdag", werkdagen.Config{}, noon(t, "2026-12-26"), "Tweede Kerstdag"},
		{"closure day", werkdagen.Config{ClosureDays: []string{"2026-12-24"}}, noon(t, "2026-12-24"), "Sluitingsdag"},
		{"closure day on a holiday keeps the holiday name", werkdagen.Config{ClosureDays: []string{"2026-12-25"}}, noon(t, "2026-12-25"), "Eerste Kerstdag"},
		{"christmas eve without closure", werkdagen.Config{}, noon(t, "2026-12-24"), ""},
		{"utc evening is amsterdam koningsdag", werkdagen.Config{}, instant(t, "2026-04-26T22:30:00Z"), "Koningsdag"},
		{"utc evening before amsterdam 28 april", werkdagen.Config{}, instant(t, "2026-04-27T22:30:00Z"), ""},
		{"saturday is no holiday", werkdagen.Config{}, noon(t, "2026-03-14"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			name, ok := newCalendar(t, tt.cfg).Holiday(tt.day)
			if name != tt.want || ok != (tt.want != "") {
				t.Errorf("Holiday(%s) = %q, %v; want %q", tt.day.Format(time.RFC3339), name, ok, tt.want)
			}
		})
	}
}

func TestIsWorkingDay(t *testing.T) {
	t.Parallel()
	cfg := werkdagen.Config{ClosureDays: []string{"2026-12-31"}}
	tests := []struct {
		name string
		t    time.Time
		want bool
	}{
		{"plain wednesday", noon(t, "2026-03-11"), true},
		{"saturday", noon(t, "2026-03-14"), false},
		{"sunday", noon(t, "2026-03-15"), false},
		{"koningsdag on a monday", noon(t, "2026-04-27"), false},
		{"tweede paasdag", noon(t, "2026-04-06"), false},
		{"goede vrijdag not configured", noon(t, "2026-04-03"), true},
		{"closure day", noon(t, "2026-12-31"), false},
		{"christmas eve", noon(t, "2026-12-24"), true},
		{"friday 23:30 utc is saturday in amsterdam", instant(t, "2026-03-13T23:30:00Z"), false},
		{"sunday 23:30 utc is monday in amsterdam", instant(t, "2026-03-15T23:30:00Z"), true},
	}
	cal := newCalendar(t, cfg)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := cal.IsWorkingDay(tt.t); got != tt.want {
				t.Errorf("IsWorkingDay(%s) = %v, want %v", tt.t.Format(time.RFC3339), got, tt.want)
			}
		})
	}
}

func TestDeadline(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  werkdagen.Config
		t    string
		n    int
		want string
	}{
		{"thursday before easter", werkdagen.Config{}, "2026-04-02T10:00:00+02:00", 5, "2026-04-11T00:00:00+02:00"},
		{"thursday before easter, goede vrijdag", werkdagen.Config{GoodFriday: true}, "2026-04-02T10:00:00+02:00", 5, "2026-04-14T00:00:00+02:00"},
		{"across a weekend", werkdagen.Config{}, "2026-03-11T10:00:00+01:00", 5, "2026-03-19T00:00:00+01:00"},
		{"friday to monday", werkdagen.Config{}, "2026-03-13T10:00:00+01:00", 1, "2026-03-17T00:00:00+01:00"},
		{"kerst and year end", werkdagen.Config{}, "2026-12-23T09:00:00+01:00", 5, "2027-01-01T00:00:00+01:00"},
		{"kerst and year end, closed 31 december", werkdagen.Config{ClosureDays: []string{"2026-12-31"}}, "2026-12-23T09:00:00+01:00", 5, "2027-01-05T00:00:00+01:00"},
		{"kerst and year end, closed 24 and 31 december", werkdagen.Config{ClosureDays: []string{"2026-12-24", "2026-12-31"}}, "2026-12-23T09:00:00+01:00", 5, "2027-01-06T00:00:00+01:00"},
		{"koningsdag on a monday", werkdagen.Config{}, "2026-04-24T15:00:00+02:00", 1, "2026-04-29T00:00:00+02:00"},
		{"koningsdag 2025 on a saturday costs nothing", werkdagen.Config{}, "2025-04-25T15:00:00+02:00", 1, "2025-04-29T00:00:00+02:00"},
		{"bevrijdingsdag 2025 lustrum", werkdagen.Config{}, "2025-05-02T12:00:00+02:00", 3, "2025-05-09T00:00:00+02:00"},
		{"bevrijdingsdag 2026 not lustrum", werkdagen.Config{}, "2026-05-04T12:00:00+02:00", 1, "2026-05-06T00:00:00+02:00"},
		{"bevrijdingsdag 2026 every", werkdagen.Config{LiberationDay: werkdagen.LiberationDayEvery}, "2026-05-04T12:00:00+02:00", 1, "2026-05-07T00:00:00+02:00"},
		{"hemelvaartsdag", werkdagen.Config{}, "2026-05-13T12:00:00+02:00", 2, "2026-05-19T00:00:00+02:00"},
		{"pinksteren", werkdagen.Config{}, "2026-05-22T12:00:00+02:00", 1, "2026-05-27T00:00:00+02:00"},
		{"friday 23:30 local", werkdagen.Config{}, "2026-03-13T23:30:00+01:00", 1, "2026-03-17T00:00:00+01:00"},
		{"thursday 23:30 utc is friday in amsterdam", werkdagen.Config{}, "2026-03-12T23:30:00Z", 1, "2026-03-17T00:00:00+01:00"},
		{"thursday 22:30 utc is still thursday", werkdagen.Config{}, "2026-03-12T22:30:00Z", 1, "2026-03-14T00:00:00+01:00"},
		{"exactly midnight starts the day", werkdagen.Config{}, "2026-03-13T00:00:00+01:00", 1, "2026-03-17T00:00:00+01:00"},
		{"one nanosecond before midnight", werkdagen.Config{}, "2026-03-12T23:59:59.999999999+01:00", 1, "2026-03-14T00:00:00+01:00"},
		{"posted on a saturday", werkdagen.Config{}, "2026-03-14T11:00:00+01:00", 1, "2026-03-17T00:00:00+01:00"},
		{"n=0 on a working day", werkdagen.Config{}, "2026-03-11T10:00:00+01:00", 0, "2026-03-12T00:00:00+01:00"},
		{"n=0 at midnight", werkdagen.Config{}, "2026-03-11T00:00:00+01:00", 0, "2026-03-12T00:00:00+01:00"},
		{"n=0 on a saturday", werkdagen.Config{}, "2026-03-14T10:00:00+01:00", 0, "2026-03-17T00:00:00+01:00"},
		{"n=0 on goede vrijdag", werkdagen.Config{GoodFriday: true}, "2026-04-03T10:00:00+02:00", 0, "2026-04-08T00:00:00+02:00"},
		{"negative n counts as 0", werkdagen.Config{}, "2026-03-11T10:00:00+01:00", -3, "2026-03-12T00:00:00+01:00"},
		{"dst spring week", werkdagen.Config{}, "2026-03-26T10:00:00+01:00", 3, "2026-04-01T00:00:00+02:00"},
		{"dst spring, friday late", werkdagen.Config{}, "2026-03-27T23:30:00+01:00", 1, "2026-03-31T00:00:00+02:00"},
		{"dst spring, on the sunday itself", werkdagen.Config{}, "2026-03-29T01:30:00Z", 0, "2026-03-31T00:00:00+02:00"},
		{"dst spring, saturday ends before the change", werkdagen.Config{ClosureDays: []string{"2026-03-30"}}, "2026-03-27T12:00:00+01:00", 1, "2026-04-01T00:00:00+02:00"},
		{"dst autumn week", werkdagen.Config{}, "2026-10-23T12:00:00+02:00", 1, "2026-10-27T00:00:00+01:00"},
		{"dst autumn, the repeated hour", werkdagen.Config{}, "2026-10-25T01:30:00Z", 2, "2026-10-28T00:00:00+01:00"},
		{"dst autumn, long term", werkdagen.Config{}, "2026-10-21T09:00:00+02:00", 5, "2026-10-29T00:00:00+01:00"},
		{"long term", werkdagen.Config{}, "2026-01-05T09:00:00+01:00", 260, "2027-01-13T00:00:00+01:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cal := newCalendar(t, tt.cfg)
			got := cal.Deadline(instant(t, tt.t), tt.n)
			if got.Format(time.RFC3339) != tt.want {
				t.Errorf("Deadline(%s, %d) = %s, want %s", tt.t, tt.n, got.Format(time.RFC3339), tt.want)
			}
			if !got.Equal(instant(t, tt.want)) {
				t.Errorf("Deadline(%s, %d) = %s is not the instant %s", tt.t, tt.n, got, tt.want)
			}
			last := got.Add(-time.Nanosecond)
			if !cal.IsWorkingDay(last) {
				t.Errorf("the last day of the term, %s, is no working day", last.Format(time.DateOnly))
			}
		})
	}
}

// TestDeadlineCountsWorkingDays checks Deadline against IsWorkingDay for
// every day of two years and terms up to 20 working days.
func TestDeadlineCountsWorkingDays(t *testing.T) {
	t.Parallel()
	cal := newCalendar(t, werkdagen.Config{GoodFriday: true, ClosureDays: []string{"2026-12-24", "2027-12-31"}})
	for start := time.Date(2026, time.January, 1, 9, 0, 0, 0, amsterdam); start.Year() < 2028; start = start.AddDate(0, 0, 1) {
		for n := 1; n <= 20; n++ {
			end := cal.Deadline(start, n)
			if end.Hour() != 0 || end.Minute() != 0 || end.Location().String() != "Europe/Amsterdam" {
				t.Fatalf("Deadline(%s, %d) = %s is not a midnight in Europe/Amsterdam", start, n, end)
			}
			count := 0
			for d := start.AddDate(0, 0, 1); d.Before(end); d = d.AddDate(0, 0, 1) {
				if cal.IsWorkingDay(d) {
					count++
				}
			}
			if count != n {
				t.Fatalf("Deadline(%s, %d) = %s spans %d working days", start.Format(time.DateOnly), n, end.Format(time.RFC3339), count)
			}
		}
	}
}

func TestEndOfDay(t *testing.T) {
	t.Parallel()
	tests := []struct {
		t, want string
	}{
		{"2026-03-11T10:00:00+01:00", "2026-03-12T00:00:00+01:00"},
		{"2026-03-11T00:00:00+01:00", "2026-03-12T00:00:00+01:00"},
		{"2026-03-12T23:30:00Z", "2026-03-14T00:00:00+01:00"},
		{"2026-03-28T12:00:00+01:00", "2026-03-29T00:00:00+01:00"},
		{"2026-03-29T12:00:00+02:00", "2026-03-30T00:00:00+02:00"},
		{"2026-10-25T12:00:00+01:00", "2026-10-26T00:00:00+01:00"},
		{"2026-12-31T23:59:59+01:00", "2027-01-01T00:00:00+01:00"},
	}
	for _, tt := range tests {
		t.Run(tt.t, func(t *testing.T) {
			t.Parallel()
			if got := werkdagen.EndOfDay(instant(t, tt.t)).Format(time.RFC3339); got != tt.want {
				t.Errorf("EndOfDay(%s) = %s, want %s", tt.t, got, tt.want)
			}
		})
	}
}

func TestBirthday18(t *testing.T) {
	t.Parallel()
	tests := []struct {
		born, want, wantErr string
	}{
		{born: "2008-02-29", want: "2026-03-01T00:00:00+01:00"},
		{born: "2008-03-15", want: "2026-03-15T00:00:00+01:00"},
		{born: "2008-02-28", want: "2026-02-28T00:00:00+01:00"},
		{born: "2012-02-29", want: "2030-03-01T00:00:00+01:00"},
		{born: "2008-07-01", want: "2026-07-01T00:00:00+02:00"},
		{born: "2008-12-31", want: "2026-12-31T00:00:00+01:00"},
		{born: "2007-02-29", wantErr: `geboortedatum: "2007-02-29" is not a date (YYYY-MM-DD)`},
		{born: "2008-13-01", wantErr: `geboortedatum: "2008-13-01" is not a date (YYYY-MM-DD)`},
		{born: "15-03-2008", wantErr: `geboortedatum: "15-03-2008" is not a date (YYYY-MM-DD)`},
		{born: "", wantErr: `geboortedatum: "" is not a date (YYYY-MM-DD)`},
	}
	for _, tt := range tests {
		t.Run(tt.born, func(t *testing.T) {
			t.Parallel()
			got, err := werkdagen.Birthday18(tt.born)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("Birthday18(%q) error = %v, want %s", tt.born, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Birthday18(%q): %v", tt.born, err)
			}
			if got.Format(time.RFC3339) != tt.want {
				t.Errorf("Birthday18(%q) = %s, want %s", tt.born, got.Format(time.RFC3339), tt.want)
			}
		})
	}
}

func TestMonthsBefore(t *testing.T) {
	t.Parallel()
	tests := []struct {
		t    string
		n    int
		want string
	}{
		{"2026-08-31T00:00:00+02:00", 6, "2026-02-28T00:00:00+01:00"},
		{"2028-08-31T00:00:00+02:00", 6, "2028-02-29T00:00:00+01:00"},
		{"2026-03-15T00:00:00+01:00", 3, "2025-12-15T00:00:00+01:00"},
		{"2026-05-31T00:00:00+02:00", 3, "2026-02-28T00:00:00+01:00"},
		{"2026-03-31T00:00:00+02:00", 1, "2026-02-28T00:00:00+01:00"},
		{"2026-07-31T00:00:00+02:00", 1, "2026-06-30T00:00:00+02:00"},
		{"2026-09-15T00:00:00+02:00", 6, "2026-03-15T00:00:00+01:00"},
		{"2026-03-01T00:00:00+01:00", 0, "2026-03-01T00:00:00+01:00"},
		{"2026-03-01T09:30:00+01:00", 24, "2024-03-01T09:30:00+01:00"},
		{"2026-01-31T00:00:00+01:00", -1, "2026-02-28T00:00:00+01:00"},
		{"2026-08-30T22:00:00Z", 6, "2026-02-28T00:00:00+01:00"},
	}
	for _, tt := range tests {
		t.Run(tt.t, func(t *testing.T) {
			t.Parallel()
			if got := werkdagen.MonthsBefore(instant(t, tt.t), tt.n).Format(time.RFC3339); got != tt.want {
				t.Errorf("MonthsBefore(%s, %d) = %s, want %s", tt.t, tt.n, got, tt.want)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  werkdagen.Config
		want []string // error lines; none for a valid config
	}{
		{"zero value", werkdagen.Config{}, nil},
		{"every", werkdagen.Config{LiberationDay: "every", GoodFriday: true}, nil},
		{"lustrum with closure days", werkdagen.Config{LiberationDay: "lustrum", ClosureDays: []string{"2026-12-24", "2026-12-31"}}, nil},
		{"bad closure day", werkdagen.Config{ClosureDays: []string{"2026-12-24", "2026-13-01"}},
			[]string{`closure_days[1]: "2026-13-01" is not a date (YYYY-MM-DD)`}},
		{"bad liberation day and closure days", werkdagen.Config{LiberationDay: "sometimes", ClosureDays: []string{"24-12-2026", "2026-12-31", "2026-02-30"}},
			[]string{
				`liberation_day: "sometimes" is not every or lustrum`,
				`closure_days[0]: "24-12-2026" is not a date (YYYY-MM-DD)`,
				`closure_days[2]: "2026-02-30" is not a date (YYYY-MM-DD)`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.cfg.Validate()
			_, newErr := werkdagen.New(tt.cfg)
			if tt.want == nil {
				if err != nil || newErr != nil {
					t.Fatalf("Validate() = %v, New() = %v; want both nil", err, newErr)
				}
				return
			}
			if err == nil || newErr == nil {
				t.Fatalf("Validate() = %v, New() = %v; want errors", err, newErr)
			}
			if got, want := err.Error(), strings.Join(tt.want, "\n"); got != want {
				t.Errorf("Validate() = %q, want %q", got, want)
			}
			if newErr.Error() != err.Error() {
				t.Errorf("New() = %q, want the Validate error %q", newErr, err)
			}
		})
	}
}

func TestNewCopiesConfig(t *testing.T) {
	t.Parallel()
	days := []string{"2026-12-24"}
	cal := newCalendar(t, werkdagen.Config{ClosureDays: days})
	days[0] = "2026-12-23"
	if cal.IsWorkingDay(noon(t, "2026-12-24")) || !cal.IsWorkingDay(noon(t, "2026-12-23")) {
		t.Error("the calendar changed with the caller's slice")
	}
}

func TestCalendarConcurrentUse(t *testing.T) {
	t.Parallel()
	cal := newCalendar(t, werkdagen.Config{GoodFriday: true, ClosureDays: []string{"2026-12-24"}})
	start := instant(t, "2026-04-02T10:00:00+02:00")
	want := cal.Deadline(start, 5)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				if got := cal.Deadline(start, 5); !got.Equal(want) {
					t.Errorf("Deadline = %s, want %s", got, want)
					return
				}
				cal.Holiday(start)
				cal.IsWorkingDay(start)
			}
		})
	}
	wg.Wait()
}
