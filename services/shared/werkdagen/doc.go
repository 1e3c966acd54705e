// Package werkdagen counts response terms in Dutch working days (werkdagen).
//
// A working day is a Monday to Friday in Europe/Amsterdam that is neither a
// Dutch public holiday nor a closure day of the region. The holidays are
// computed for any year (tested for 1900–2200):
//
//   - Nieuwjaarsdag, 1 January;
//   - Goede Vrijdag, the Friday before Easter, only when [Config.GoodFriday] is set;
//   - Eerste and Tweede Paasdag, Easter Sunday and Monday (Easter by the
//     anonymous Gregorian algorithm of Meeus, Jones and Butcher);
//   - Koningsdag, 27 April, or 26 April when the 27th is a Sunday (from 2014);
//     before 2014 Koninginnedag, 30 April, or 29 April when the 30th is a Sunday;
//   - Bevrijdingsdag, 5 May, every year or only in lustrum years (divisible
//     by 5), as [Config.LiberationDay] says;
//   - Hemelvaartsdag, Easter + 39 days;
//   - Eerste and Tweede Pinksterdag, Easter + 49 and + 50 days;
//   - Eerste and Tweede Kerstdag, 25 and 26 December;
//
// plus the extra closure days of [Config.ClosureDays]. Weekends never count,
// whether or not a holiday falls on them.
//
// Every date decision is made in Europe/Amsterdam with calendar arithmetic,
// so daylight saving time changes never shift a date. The time zone data is
// embedded, so the package works on machines without zoneinfo.
//
// A term of n working days that starts at an instant t ends at the end of
// the n-th working day after the day of t; the day of t itself never counts.
// [Calendar.Deadline] returns that end as the instant the next calendar day
// begins, so "before the deadline" means "at the latest on that working day".
package werkdagen
