package dsl

import (
	"slices"
	"sync"
	"time"
)

// Calendar says which days are business days: not a weekend day and not a
// holiday, in the calendar's time zone. The zero Calendar is UTC, Saturday and
// Sunday off, no holidays.
type Calendar struct {
	Timezone string         `json:"timezone,omitempty"`
	Weekend  []time.Weekday `json:"weekend,omitempty"`
	Holidays []string       `json:"holidays,omitempty"` // YYYY-MM-DD
}

// Location is the calendar's time zone (UTC when it names none).
func (c *Calendar) Location() *time.Location {
	if c == nil || c.Timezone == "" {
		return time.UTC
	}
	loc, err := LoadLocation(c.Timezone)
	if err != nil { // validated on load; a snapshot from an older binary still works
		return time.UTC
	}
	return loc
}

// locations caches time zones by name: time.LoadLocation reads the zoneinfo
// database on every call, and business days and rotations ask often.
var locations sync.Map

// LoadLocation is time.LoadLocation, cached. The cache only saves work: the
// same name always gives the same zone.
func LoadLocation(name string) (*time.Location, error) {
	if loc, ok := locations.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	locations.Store(name, loc)
	return loc, nil
}

// IsBusinessDay reports whether the calendar day of t (in the calendar's zone) is a business day.
func (c *Calendar) IsBusinessDay(t time.Time) bool {
	t = t.In(c.Location())
	weekend := []time.Weekday{time.Saturday, time.Sunday}
	if c != nil && c.Weekend != nil {
		weekend = c.Weekend
	}
	if slices.Contains(weekend, t.Weekday()) {
		return false
	}
	return c == nil || !slices.Contains(c.Holidays, t.Format(time.DateOnly))
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
