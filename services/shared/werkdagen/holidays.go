package werkdagen

import "time"

// Names of the holidays, as the field writes them.
const (
	nieuwjaarsdag     = "Nieuwjaarsdag"
	goedeVrijdag      = "Goede Vrijdag"
	eerstePaasdag     = "Eerste Paasdag"
	tweedePaasdag     = "Tweede Paasdag"
	koningsdag        = "Koningsdag"
	koninginnedag     = "Koninginnedag"
	bevrijdingsdag    = "Bevrijdingsdag"
	hemelvaartsdag    = "Hemelvaartsdag"
	eerstePinksterdag = "Eerste Pinksterdag"
	tweedePinksterdag = "Tweede Pinksterdag"
	eersteKerstdag    = "Eerste Kerstdag"
	tweedeKerstdag    = "Tweede Kerstdag"
	sluitingsdag      = "Sluitingsdag"
)

const (
	// firstKoningsdagYear is the first year with Koningsdag instead of
	// Koninginnedag.
	firstKoningsdagYear = 2014
	// lustrum is the period, in years, of Bevrijdingsdag as a lustrum holiday.
	lustrum = 5
)

// holiday returns the name of the holiday or closure day on d. When two
// coincide (Hemelvaartsdag on 5 May), the movable feast wins.
func (c *Calendar) holiday(d date) (string, bool) {
	switch {
	case d.m == time.January && d.d == 1:
		return nieuwjaarsdag, true
	case d.m == time.December && d.d == 25:
		return eersteKerstdag, true
	case d.m == time.December && d.d == 26:
		return tweedeKerstdag, true
	}
	switch d.sub(easter(d.y)) {
	case -2:
		if c.goodFriday {
			return goedeVrijdag, true
		}
	case 0:
		return eerstePaasdag, true
	case 1:
		return tweedePaasdag, true
	case 39:
		return hemelvaartsdag, true
	case 49:
		return eerstePinksterdag, true
	case 50:
		return tweedePinksterdag, true
	}
	if name, day := kingsDay(d.y); d.m == time.April && d.d == day {
		return name, true
	}
	if d.m == time.May && d.d == 5 && (c.liberationEvery || d.y%lustrum == 0) {
		return bevrijdingsdag, true
	}
	if _, ok := c.closures[d]; ok {
		return sluitingsdag, true
	}
	return "", false
}

// kingsDay returns the name and the day in April of Koningsdag (27 April,
// from 2014) or Koninginnedag (30 April, before 2014); when that day is a
// Sunday, the holiday moves one day earlier.
func kingsDay(year int) (name string, day int) {
	name, day = koningsdag, 27
	if year < firstKoningsdagYear {
		name, day = koninginnedag, 30
	}
	if (date{year, time.April, day}).weekday() == time.Sunday {
		day--
	}
	return name, day
}

// easter returns Easter Sunday of year in the Gregorian calendar, by the
// anonymous algorithm of Meeus, Jones and Butcher.
func easter(year int) date {
	a := year % 19
	b := year / 100
	c := year % 100
	d := b / 4
	e := b % 4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i := c / 4
	k := c % 4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	month := (h + l - 7*m + 114) / 31
	day := (h+l-7*m+114)%31 + 1
	return date{year, time.Month(month), day}
}
