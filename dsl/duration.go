package dsl

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Duration is a span written in a process: a fixed length (Go syntax plus d for
// days and w for weeks: "90m", "72h", "3d", "1w2d") or a number of business days
// on the directory's calendar ("5 business days"). Exactly one part is non-zero.
type Duration struct {
	Fixed        time.Duration
	BusinessDays int
	text         string // as written, so messages and snapshots show what the author wrote
}

var (
	businessDaysPattern = regexp.MustCompile(`^(\d+)\s+business\s+days?$`)
	durationPart        = regexp.MustCompile(`^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d|w)`)
)

// ParseDuration reads a duration as written in a process file. It returns an
// error that says what a valid one looks like.
func ParseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	if m := businessDaysPattern.FindStringSubmatch(s); m != nil {
		n, err := strconv.Atoi(m[1])
		if err != nil || n <= 0 || n > 3650 {
			return Duration{}, fmt.Errorf("invalid duration %q: business days must be a whole number from 1 to 3650", s)
		}
		return Duration{BusinessDays: n, text: s}, nil
	}
	if s == "" {
		return Duration{}, fmt.Errorf("empty duration: write for example 30m, 72h, 3d, 2w or 5 business days")
	}
	var total time.Duration
	for rest := s; rest != ""; {
		m := durationPart.FindStringSubmatch(rest)
		if m == nil {
			return Duration{}, fmt.Errorf("invalid duration %q: write for example 30m, 72h, 3d, 2w or 5 business days", s)
		}
		n, _ := strconv.ParseFloat(m[1], 64)
		unit := map[string]time.Duration{
			"ns": time.Nanosecond, "us": time.Microsecond, "µs": time.Microsecond, "ms": time.Millisecond,
			"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour,
		}[m[2]]
		if n*float64(unit) > float64(100*365*24*time.Hour) {
			return Duration{}, fmt.Errorf("invalid duration %q: longer than 100 years", s)
		}
		total += time.Duration(n * float64(unit))
		rest = rest[len(m[0]):]
	}
	if total <= 0 {
		return Duration{}, fmt.Errorf("invalid duration %q: must be longer than zero", s)
	}
	return Duration{Fixed: total, text: s}, nil
}

// String writes the duration in process syntax, as the author wrote it.
func (d Duration) String() string {
	switch {
	case d.text != "":
		return d.text
	case d.BusinessDays == 1:
		return "1 business day"
	case d.BusinessDays > 0:
		return fmt.Sprintf("%d business days", d.BusinessDays)
	}
	return formatFixed(d.Fixed)
}

// formatFixed writes a duration the way process files do: 1d2h30m, not 26h30m0s.
func formatFixed(d time.Duration) string {
	if d <= 0 || d%time.Second != 0 {
		return d.String()
	}
	var b strings.Builder
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if n := d / u.unit; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.name)
			d -= n * u.unit
		}
	}
	return b.String()
}

// After returns the instant d after t, counting business days on cal.
func (d Duration) After(t time.Time, cal *Calendar) time.Time {
	if d.BusinessDays > 0 {
		return cal.AddBusinessDays(t, d.BusinessDays)
	}
	return t.Add(d.Fixed)
}

// MarshalJSON writes the duration in process syntax.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads the duration in process syntax.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}
