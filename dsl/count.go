package dsl

import (
	"fmt"
	"strings"
	"time"
)

// The rules a deadline's period may be counted by (deadline.count).
const (
	// CountExact counts from the instant of the event: 72h is 72 hours on,
	// 3d is 72 hours on, 5 business days is the same time of day five
	// business days on. It is the default, and what every deadline written
	// before count existed means.
	CountExact = "exact"
	// CountEU counts as Regulation (EEC, Euratom) No 1182/71 Art. 3 does: a
	// period of days, weeks, months or years leaves out the day of the
	// event and ends at the end of its last day; a month ends on the same
	// date, or on the last day of a shorter month; a last day that is a
	// holiday, a Saturday or a Sunday gives way to the next working day; a
	// period of two days or more holds at least two working days; working
	// days count working days only.
	CountEU = "eu"
	// CountUS counts as FRCP 6(a)(1) does: leave out the day of the event,
	// count every day, and a last day on a weekend or legal holiday runs to
	// the end of the next day that is neither. Business days count as the
	// SEC counts them for Form 8-K: the days after the event, and an event
	// on a weekend or holiday starts the count on the next business day.
	CountUS = "us"
)

// CountRules are the values deadline.count takes.
var CountRules = []string{CountExact, CountEU, CountUS}

// WholeDays reports whether the duration is a period of whole days as the
// law counts them: days, weeks, months, years or business days, not hours.
func (d Duration) WholeDays() bool { return d.days > 0 || d.BusinessDays > 0 || d.Months > 0 }

// inHoursOnly reports whether the duration is written in hours, minutes or
// seconds only: such a period runs from the instant under every rule.
func (d Duration) inHoursOnly() bool { return d.IsFixed() && !d.hasDays }

// DayEnd is when the last day of a period counted in whole days ends: a
// time of day, in a time zone (deadline.day_ends, "17:30 America/New_York").
type DayEnd struct {
	Hour, Minute int
	// Zone is where days are counted; nil means the calendar's zone.
	Zone *time.Location
}

// ParseDayEnd reads a time of day with an optional IANA time zone after it:
// "17:30" or "17:30 America/New_York". It says in words what is wrong.
func ParseDayEnd(s string) (DayEnd, error) {
	clockText, zoneText, hasZone := strings.Cut(strings.TrimSpace(s), " ")
	clock, err := time.Parse(ClockLayout, clockText)
	if err != nil {
		return DayEnd{}, fmt.Errorf("%q must be a time of day written HH:MM (24-hour clock), with a time zone after it when the days are not the calendar's: \"17:30\" or \"17:30 America/New_York\"", s)
	}
	out := DayEnd{Hour: clock.Hour(), Minute: clock.Minute()}
	if out.Hour == 0 && out.Minute == 0 {
		return DayEnd{}, fmt.Errorf("%q would end the last day as it begins: leave day_ends out for the end of the day (midnight), or give the time of closing, like 17:30", s)
	}
	if hasZone {
		zone := strings.TrimSpace(zoneText)
		loc, err := LoadLocation(zone)
		if err != nil {
			return DayEnd{}, fmt.Errorf("%q: %s", s, ZoneProblem(zone))
		}
		out.Zone = loc
	}
	return out, nil
}

// PeriodEnd returns when a period of length d that starts with an event at
// start ends, counted by rule (CountExact when empty) on cal, the last day
// ending at dayEnds ("" for midnight in the calendar's zone). A period in
// hours runs from the instant under every rule.
func PeriodEnd(start time.Time, d Duration, rule, dayEnds string, cal *Calendar) time.Time {
	if rule == "" || rule == CountExact || !d.WholeDays() {
		return d.After(start, cal)
	}
	loc := cal.Location()
	var end DayEnd
	if dayEnds != "" {
		end, _ = ParseDayEnd(dayEnds) // validated on load
		if end.Zone != nil {
			loc = end.Zone
		}
	}
	e := start.In(loc)
	// Dates are counted as dates, at noon UTC, so no clock change moves them.
	event := time.Date(e.Year(), e.Month(), e.Day(), 12, 0, 0, 0, time.UTC)
	var last time.Time
	switch {
	case d.BusinessDays > 0:
		// The day of the event is left out; an event on a day off starts
		// the count on the next business day, which is the first counted.
		last = event
		for n := d.BusinessDays; n > 0; n-- {
			last = cal.nextBusinessDate(last.AddDate(0, 0, 1))
		}
	case d.Months > 0:
		y, m, day := addMonths(event.Year(), event.Month(), event.Day(), d.Months)
		last = time.Date(y, m, day, 12, 0, 0, 0, time.UTC)
	default:
		last = event.AddDate(0, 0, d.days)
	}
	last = cal.nextBusinessDate(last)
	if rule == CountEU && (d.Months > 0 || d.days >= 2) {
		// Art. 3(5): any period of two days or more includes at least two working days.
		for cal.businessDatesAfter(event, last) < 2 {
			last = cal.nextBusinessDate(last.AddDate(0, 0, 1))
		}
	}
	if dayEnds != "" {
		return time.Date(last.Year(), last.Month(), last.Day(), end.Hour, end.Minute, 0, 0, loc)
	}
	return time.Date(last.Year(), last.Month(), last.Day()+1, 0, 0, 0, 0, loc)
}

// Due returns when the deadline is due for a clock that started at start,
// counted on its own calendar if it names one, else on cal.
func (d *Deadline) Due(start time.Time, cal *Calendar) time.Time {
	if d.Calendar != nil {
		cal = d.Calendar
	}
	return PeriodEnd(start, d.Within, d.Count, d.DayEnds, cal)
}

// Counting says, for the timeline, how the deadline's period is counted:
// "" when exactly, else the rule in words (", counted as Regulation
// 1182/71 counts").
func (d *Deadline) Counting() string {
	switch {
	case !d.Within.WholeDays():
		return ""
	case d.Count == CountEU:
		return ", counted as Regulation 1182/71 counts"
	case d.Count == CountUS:
		return ", counted as FRCP 6(a) and the SEC count"
	}
	return ""
}

// FormatLocal writes an instant in loc the way people read a due time; the
// midnight that ends a day is written as 24:00 of that day, as the law
// says a period ends "with the expiry of the last hour" of its last day.
func FormatLocal(t time.Time, loc *time.Location) string {
	const layout = "Mon 2 Jan 2006 15:04 MST"
	local := t.In(loc)
	if local.Hour() == 0 && local.Minute() == 0 && local.Second() == 0 && local.Nanosecond() == 0 {
		before := t.Add(-time.Nanosecond).In(loc)
		return before.Format("Mon 2 Jan 2006") + " 24:00 " + before.Format("MST")
	}
	return local.Format(layout)
}
