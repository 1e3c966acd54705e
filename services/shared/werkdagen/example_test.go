package werkdagen_test

import (
	"fmt"
	"time"

	"github.com/ketenbus/ketenbus/services/shared/werkdagen"
)

// A 5-working-day term posted on the Thursday before Easter 2026. Goede
// Vrijdag counts as a working day unless the region closes on it; Tweede
// Paasdag never does.
func ExampleCalendar_Deadline() {
	cal, err := werkdagen.New(werkdagen.Config{})
	if err != nil {
		panic(err)
	}
	posted := time.Date(2026, time.April, 2, 10, 0, 0, 0, time.FixedZone("CEST", 2*60*60))
	fmt.Println(cal.Deadline(posted, 5).Format(time.RFC3339))

	closed, err := werkdagen.New(werkdagen.Config{GoodFriday: true})
	if err != nil {
		panic(err)
	}
	fmt.Println(closed.Deadline(posted, 5).Format(time.RFC3339))
	// Output:
	// 2026-04-11T00:00:00+02:00
	// 2026-04-14T00:00:00+02:00
}

func ExampleCalendar_Holiday() {
	cal, err := werkdagen.New(werkdagen.Config{})
	if err != nil {
		panic(err)
	}
	for _, day := range []string{"2025-04-26", "2026-04-06", "2026-03-11"} {
		d, _ := time.Parse(time.DateOnly, day)
		name, ok := cal.Holiday(d.Add(12 * time.Hour))
		fmt.Println(day, name, ok)
	}
	// Output:
	// 2025-04-26 Koningsdag true
	// 2026-04-06 Tweede Paasdag true
	// 2026-03-11  false
}

func ExampleBirthday18() {
	birthday, err := werkdagen.Birthday18("2008-02-29")
	if err != nil {
		panic(err)
	}
	fmt.Println(birthday.Format(time.DateOnly))
	fmt.Println(werkdagen.MonthsBefore(birthday, 6).Format(time.DateOnly))
	// Output:
	// 2026-03-01
	// 2025-09-01
}
