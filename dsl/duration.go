package dsl

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Duration is a span written in a process: a fixed length ("90m", "72h", "3d",
// "1w2d", or spelled out: "72 hours", "3 days", "2 weeks"), a number of
// business days on the directory's calendar ("5 business days", "2 working
// days"), or a number of calendar months ("1 month", "1 year"). Exactly one
// of Fixed, BusinessDays and Months is non-zero.
type Duration struct {
	Fixed        time.Duration
	BusinessDays int
	// Months are calendar months (a year is twelve): the same date that many
	// months on, or the last day of a month too short to have it.
	Months int
	// days is how many whole days of Fixed were written in days or weeks: a
	// period counted in whole days needs to know (72h and 3d are as long,
	// but only 3d is a period of days).
	days int
	// hasDays is set when days or weeks were written at all, so that "1d12h"
	// is known to be neither a period of days nor one of hours.
	hasDays bool
	text    string // as written, so messages and snapshots show what the author wrote
}

// durationExamples ends every message about a duration that cannot be read.
const durationExamples = "write for example 30m, 72 hours, 3 days, 2 weeks, 1 month or 5 business days"

// durationUnits maps each unit a process may write to its canonical name.
var durationUnits = map[string]string{
	"ns": "ns", "us": "us", "µs": "us", "ms": "ms",
	"s": "s", "sec": "s", "secs": "s", "second": "s", "seconds": "s",
	"m": "m", "min": "m", "mins": "m", "minute": "m", "minutes": "m",
	"h": "h", "hr": "h", "hrs": "h", "hour": "h", "hours": "h",
	"d": "d", "day": "d", "days": "d", "calendar day": "d", "calendar days": "d",
	"w": "w", "wk": "w", "wks": "w", "week": "w", "weeks": "w",
	"mo": "mo", "month": "mo", "months": "mo",
	"y": "y", "yr": "y", "yrs": "y", "year": "y", "years": "y",
	"business day": "bd", "business days": "bd", "working day": "bd", "working days": "bd",
}

// unitWords are the spelled-out units, for did-you-mean hints.
var unitWords = []string{"seconds", "minutes", "hours", "days", "weeks", "months", "years", "business days", "working days"}

var fixedUnits = map[string]time.Duration{
	"ns": time.Nanosecond, "us": time.Microsecond, "ms": time.Millisecond, "s": time.Second,
	"m": time.Minute, "h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour,
}

var (
	// durationPart is one number and its unit; a two-word unit (business
	// days) is read whole.
	durationPart = regexp.MustCompile(`^(\d+(?:\.\d+)?)\s*((?:business|working|calendar)\s+days?|[a-zµ]+)`)
	// durationSep may stand between parts: "1 day 12 hours", "1 day, 12 hours", "1 day and 12 hours".
	durationSep  = regexp.MustCompile(`^(?:\s*,\s*|\s+and\s+|\s+)`)
	numberWords  = regexp.MustCompile(`^(a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|sixty|seventy|ninety)\b`)
	bareNumber   = regexp.MustCompile(`^\d+(?:\.\d+)?$`)
	spaceRunning = regexp.MustCompile(`\s+`)
)

// ParseDuration reads a duration as written in a process file. It returns an
// error that says, in words, what is wrong and what a valid one looks like.
func ParseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	text := s
	lower := spaceRunning.ReplaceAllString(strings.ToLower(s), " ")
	switch {
	case s == "":
		return Duration{}, fmt.Errorf("the duration is empty: %s", durationExamples)
	case strings.HasPrefix(s, "-"):
		return Duration{}, fmt.Errorf("%q is negative: a duration says how long, so write it without the minus, like %s", s, strings.TrimSpace(s[1:]))
	case bareNumber.MatchString(s) && isZero(s):
		return Duration{}, fmt.Errorf("%q is zero: a duration must be longer than that", s)
	case bareNumber.MatchString(s):
		return Duration{}, fmt.Errorf("%q has no unit: write %sh for hours, %sm for minutes or %s days", s, s, s, s)
	case numberWords.MatchString(lower):
		w := numberWords.FindString(lower)
		return Duration{}, fmt.Errorf("%q: write the number in digits, like %s", s, digitsFor(w)+strings.TrimPrefix(lower, w))
	case strings.HasSuffix(s, "M") && bareNumber.MatchString(strings.TrimSuffix(s, "M")):
		n := strings.TrimSuffix(s, "M")
		month := " months"
		if n == "1" {
			month = " month"
		}
		return Duration{}, fmt.Errorf("%q is unclear: write %sm for minutes, or %s%s", s, n, n, month)
	}
	var d Duration
	kinds := map[string]bool{} // fixed, bd, mo
	for rest := lower; rest != ""; {
		m := durationPart.FindStringSubmatch(rest)
		if m == nil {
			return Duration{}, unreadable(s, rest)
		}
		unitText := spaceRunning.ReplaceAllString(m[2], " ")
		unit, ok := durationUnits[unitText]
		if !ok {
			return Duration{}, fmt.Errorf("%q: %q is not a unit of time (%s)%s", s, unitText, durationExamples, DidYouMean(unitText, unitWords))
		}
		n, _ := strconv.ParseFloat(m[1], 64)
		whole := n == float64(int64(n))
		switch unit {
		case "bd", "mo", "y":
			if !whole {
				what := map[string]string{"bd": "business days", "mo": "months", "y": "years"}[unit]
				return Duration{}, fmt.Errorf("%q: %s are counted whole, so write a whole number (or the length in hours, like 36h)", s, what)
			}
			if unit == "bd" {
				kinds["bd"] = true
				d.BusinessDays += int(n)
			} else {
				kinds["mo"] = true
				d.Months += int(n) * map[string]int{"mo": 1, "y": 12}[unit]
			}
		default:
			kinds["fixed"] = true
			if n*float64(fixedUnits[unit]) > float64(100*365*24*time.Hour) {
				return Duration{}, fmt.Errorf("%q is longer than 100 years", s)
			}
			d.Fixed += time.Duration(n * float64(fixedUnits[unit]))
			d.hasDays = d.hasDays || unit == "d" || unit == "w"
			if (unit == "d" || unit == "w") && whole {
				d.days += int(n) * map[string]int{"d": 1, "w": 7}[unit]
			} else if unit == "d" || unit == "w" {
				d.days = -1 // a fraction of a day is no whole-day period
			}
		}
		rest = rest[len(m[0]):]
		if sep := durationSep.FindString(rest); sep != "" {
			rest = rest[len(sep):]
		}
	}
	switch {
	case kinds["bd"] && len(kinds) > 1:
		return Duration{}, fmt.Errorf("%q mixes business days with other units: write business days on their own, like 5 business days", s)
	case kinds["mo"] && len(kinds) > 1:
		return Duration{}, fmt.Errorf("%q mixes months or years with other units: write them on their own, like 1 month or 18 months", s)
	case d.BusinessDays > 3650:
		return Duration{}, fmt.Errorf("%q is more than 3650 business days", s)
	case d.Months > 1200:
		return Duration{}, fmt.Errorf("%q is longer than 100 years", s)
	case d.Fixed <= 0 && d.BusinessDays == 0 && d.Months == 0:
		return Duration{}, fmt.Errorf("%q is zero: a duration must be longer than that", s)
	}
	if d.days < 0 || time.Duration(d.days)*24*time.Hour != d.Fixed {
		d.days = 0 // hours or minutes in it: not a period of whole days
	}
	d.text = text
	return d, nil
}

func isZero(s string) bool { f, _ := strconv.ParseFloat(s, 64); return f == 0 }

// unreadable explains the first part of a duration that is not number-and-unit.
func unreadable(s, rest string) error {
	r := []rune(rest)[0]
	switch {
	case unicode.IsDigit(r):
		return fmt.Errorf("%q: %s", s, durationExamples)
	case unicode.IsLetter(r):
		return fmt.Errorf("%q: a number must come before %q; %s", s, strings.Fields(rest)[0], durationExamples)
	}
	return fmt.Errorf("%q is not a duration: %s", s, durationExamples)
}

// digitsFor writes a number word in digits, for the hint.
func digitsFor(word string) string {
	n := map[string]int{"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
		"nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40, "sixty": 60,
		"seventy": 70, "ninety": 90}[word]
	return strconv.Itoa(n)
}

// IsFixed reports whether the duration has the same length whenever it
// starts: not business days, not months.
func (d Duration) IsFixed() bool { return d.BusinessDays == 0 && d.Months == 0 }

// String writes the duration in process syntax, as the author wrote it.
func (d Duration) String() string {
	switch {
	case d.text != "":
		return d.text
	case d.BusinessDays == 1:
		return "1 business day"
	case d.BusinessDays > 0:
		return fmt.Sprintf("%d business days", d.BusinessDays)
	case d.Months == 1:
		return "1 month"
	case d.Months > 0:
		return fmt.Sprintf("%d months", d.Months)
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

// After returns the instant d after t: business days on cal keep the
// wall-clock time in its zone, and so do months.
func (d Duration) After(t time.Time, cal *Calendar) time.Time {
	switch {
	case d.BusinessDays > 0:
		return cal.AddBusinessDays(t, d.BusinessDays)
	case d.Months > 0:
		local := t.In(cal.Location())
		y, m, day := addMonths(local.Year(), local.Month(), local.Day(), d.Months)
		return time.Date(y, m, day, local.Hour(), local.Minute(), local.Second(), local.Nanosecond(), local.Location())
	}
	return t.Add(d.Fixed)
}

// addMonths moves a date n calendar months on; a day the month does not have
// becomes its last day (31 January + 1 month is 28 or 29 February).
func addMonths(y int, m time.Month, day, n int) (int, time.Month, int) {
	first := time.Date(y, m+time.Month(n), 1, 0, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	return first.Year(), first.Month(), min(day, last)
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
