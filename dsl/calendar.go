package dsl

import (
	"archive/zip"
	"bytes"
	_ "embed" // the time zone database
	"fmt"
	"io"
	"slices"
	"sync"
	"time"
)

// Calendar says which days are business days: not a weekend day and not a
// holiday, in the calendar's time zone. The zero Calendar is UTC, Saturday and
// Sunday off, no holidays.
type Calendar struct {
	// ID names one of the directory's further calendars; the directory's
	// own calendar has none.
	ID       string         `json:"id,omitempty"`
	Timezone string         `json:"timezone,omitempty"`
	Weekend  []time.Weekday `json:"weekend,omitempty"`
	Holidays []string       `json:"holidays,omitempty"` // YYYY-MM-DD
	// WorkStart and WorkEnd bound the working day (HH:MM, local), for meetings
	// such as reviews; the default is 09:00 to 17:00.
	WorkStart string `json:"work_start,omitempty"`
	WorkEnd   string `json:"work_end,omitempty"`
}

// Location is the calendar's time zone (UTC when it names none).
func (c *Calendar) Location() *time.Location {
	if c == nil || c.Timezone == "" {
		return time.UTC
	}
	loc, err := LoadLocation(c.Timezone)
	if err != nil { // validated on load: only a snapshot naming a zone this database dropped
		return time.UTC
	}
	return loc
}

// zoneinfo is the IANA time zone database as Go ships it (its
// lib/time/zoneinfo.zip, copied here by `make zoneinfo`), built into the
// binary: every zone a process, directory or run names is read from it,
// never from the machine's disk, so that validation and every worker
// replaying a run count in exactly the same zones, whatever is installed
// where they run.
//
//go:embed zoneinfo.zip
var zoneinfo []byte

var zones = sync.OnceValues(func() (*zip.Reader, error) {
	return zip.NewReader(bytes.NewReader(zoneinfo), int64(len(zoneinfo)))
})

// locations caches time zones by name: business days and rotations ask often.
var locations sync.Map

// LoadLocation loads the IANA time zone name from the built-in database:
// UTC for "UTC", an error for a zone it does not hold (and for "Local",
// which is whatever the machine says). The same name always gives the same
// zone.
func LoadLocation(name string) (*time.Location, error) {
	if name == "UTC" {
		return time.UTC, nil
	}
	if loc, ok := locations.Load(name); ok {
		return loc.(*time.Location), nil
	}
	db, err := zones()
	if err != nil {
		return nil, fmt.Errorf("read the built-in time zone database: %w", err)
	}
	f, err := db.Open(name)
	if err != nil || name == "" || name == "Local" {
		return nil, fmt.Errorf("unknown time zone %s", name)
	}
	defer func() { _ = f.Close() }()
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("read time zone %s: %w", name, err)
	}
	loc, err := time.LoadLocationFromTZData(name, data)
	if err != nil {
		return nil, fmt.Errorf("time zone %s: %w", name, err)
	}
	locations.Store(name, loc)
	return loc, nil
}

// IsBusinessDay reports whether the calendar day of t (in the calendar's zone) is a business day.
func (c *Calendar) IsBusinessDay(t time.Time) bool { return c.isBusinessDate(t.In(c.Location())) }

// isBusinessDate reports whether the date of t, as t's own zone reads it, is
// neither a weekend day nor a holiday of the calendar.
func (c *Calendar) isBusinessDate(t time.Time) bool {
	weekend := []time.Weekday{time.Saturday, time.Sunday}
	if c != nil && c.Weekend != nil {
		weekend = c.Weekend
	}
	if slices.Contains(weekend, t.Weekday()) {
		return false
	}
	return c == nil || !slices.Contains(c.Holidays, t.Format(time.DateOnly))
}

// maxDaysOff bounds the search for a business day: a calendar is refused on
// load when its weekend is every day, and a snapshot written before that
// check must not loop for ever.
const maxDaysOff = 3660

// nextBusinessDate returns the date of t if it is a business day, else the
// first business day after it.
func (c *Calendar) nextBusinessDate(t time.Time) time.Time {
	for range maxDaysOff {
		if c.isBusinessDate(t) {
			return t
		}
		t = t.AddDate(0, 0, 1)
	}
	return t
}

// businessDatesAfter counts the business days after the date of from, up to
// and including the date of to.
func (c *Calendar) businessDatesAfter(from, to time.Time) int {
	n := 0
	for d := from.AddDate(0, 0, 1); !d.After(to); d = d.AddDate(0, 0, 1) {
		if c.isBusinessDate(d) {
			n++
		}
	}
	return n
}

// AddBusinessDays moves t forward n business days, keeping its wall-clock time in
// the calendar's zone: Friday 16:00 plus one business day is Monday 16:00.
func (c *Calendar) AddBusinessDays(t time.Time, n int) time.Time {
	loc := c.Location()
	local := t.In(loc)
	for n > 0 {
		local = time.Date(local.Year(), local.Month(), local.Day()+1, local.Hour(), local.Minute(), local.Second(), local.Nanosecond(), loc)
		if c.IsBusinessDay(local) {
			n--
		}
	}
	return local
}

// ClockLayout is how the calendar writes times of day.
const ClockLayout = "15:04"

// workingDay is the calendar's working hours on the day of t, in its zone.
func (c *Calendar) workingDay(t time.Time) (start, end time.Time) {
	from, to := "09:00", "17:00"
	if c != nil && c.WorkStart != "" && c.WorkEnd != "" {
		from, to = c.WorkStart, c.WorkEnd
	}
	at := func(hhmm string) time.Time {
		clock, _ := time.Parse(ClockLayout, hhmm) // validated on load
		return time.Date(t.Year(), t.Month(), t.Day(), clock.Hour(), clock.Minute(), 0, 0, t.Location())
	}
	return at(from), at(to)
}

// MeetingSlot picks when a meeting of length d happens: the first half-hour
// of the clock, at or after earliest, on a business day, with the whole
// meeting inside working hours. The caller compares it with its window.
func (c *Calendar) MeetingSlot(earliest time.Time, d time.Duration) time.Time {
	loc := c.Location()
	day := earliest.In(loc)
	// A year of days is more than any window; the bound keeps a calendar whose
	// every day is a holiday from looping for ever.
	for range 366 {
		if c.IsBusinessDay(day) {
			start, end := c.workingDay(day)
			slot := start
			if e := earliest.In(loc); e.After(slot) {
				// Round up to the next half hour of the local clock.
				mins := e.Hour()*60 + e.Minute()
				if e.Second() > 0 || e.Nanosecond() > 0 {
					mins++
				}
				mins = (mins + 29) / 30 * 30
				slot = time.Date(e.Year(), e.Month(), e.Day(), 0, mins, 0, 0, loc)
			}
			if !slot.Add(d).After(end) {
				return slot
			}
		}
		day = time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, loc)
	}
	return earliest
}
