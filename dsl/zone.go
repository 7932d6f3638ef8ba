package dsl

import (
	"fmt"
	"regexp"
	"strings"
)

// commonZones are time zones people write often, for did-you-mean hints:
// Go can load every IANA zone but cannot list them.
var commonZones = []string{
	"UTC", "Europe/London", "Europe/Dublin", "Europe/Lisbon", "Europe/Paris", "Europe/Berlin", "Europe/Madrid",
	"Europe/Rome", "Europe/Amsterdam", "Europe/Brussels", "Europe/Luxembourg", "Europe/Zurich", "Europe/Vienna",
	"Europe/Stockholm", "Europe/Oslo", "Europe/Copenhagen", "Europe/Helsinki", "Europe/Warsaw", "Europe/Prague",
	"Europe/Budapest", "Europe/Bucharest", "Europe/Athens", "Europe/Istanbul", "Europe/Kyiv", "Europe/Moscow",
	"America/New_York", "America/Chicago", "America/Denver", "America/Phoenix", "America/Los_Angeles",
	"America/Anchorage", "America/Toronto", "America/Vancouver", "America/Mexico_City", "America/Sao_Paulo",
	"America/Argentina/Buenos_Aires", "America/Bogota", "America/Lima", "America/Santiago", "Pacific/Honolulu",
	"Asia/Tokyo", "Asia/Seoul", "Asia/Shanghai", "Asia/Hong_Kong", "Asia/Taipei", "Asia/Singapore", "Asia/Kolkata",
	"Asia/Dubai", "Asia/Jerusalem", "Asia/Bangkok", "Asia/Jakarta", "Asia/Manila", "Asia/Karachi",
	"Australia/Sydney", "Australia/Melbourne", "Australia/Brisbane", "Australia/Perth", "Pacific/Auckland",
	"Africa/Johannesburg", "Africa/Lagos", "Africa/Nairobi", "Africa/Cairo",
}

// zoneAbbreviations are what people write for a zone's clock, which names
// no place and so no summer-time rule, with the place usually meant.
var zoneAbbreviations = map[string]string{
	"BST": "Europe/London", "GMT": "Europe/London", "IST": "Europe/Dublin or Asia/Kolkata",
	"WET": "Europe/Lisbon", "WEST": "Europe/Lisbon", "CET": "Europe/Paris or Europe/Berlin", "CEST": "Europe/Paris or Europe/Berlin",
	"EET": "Europe/Athens or Europe/Helsinki", "EEST": "Europe/Athens or Europe/Helsinki",
	"ET": "America/New_York", "EST": "America/New_York", "EDT": "America/New_York",
	"CT": "America/Chicago", "CST": "America/Chicago", "CDT": "America/Chicago",
	"MT": "America/Denver", "MST": "America/Denver", "MDT": "America/Denver",
	"PT": "America/Los_Angeles", "PST": "America/Los_Angeles", "PDT": "America/Los_Angeles",
	"JST": "Asia/Tokyo", "KST": "Asia/Seoul", "SGT": "Asia/Singapore", "HKT": "Asia/Hong_Kong",
	"AEST": "Australia/Sydney", "AEDT": "Australia/Sydney", "NZST": "Pacific/Auckland", "NZDT": "Pacific/Auckland",
}

// fixedOffset is a zone written as an offset from UTC or GMT.
var fixedOffset = regexp.MustCompile(`^(?i)(?:utc|gmt)?\s*[+-]\s*\d{1,2}(?::?\d{2})?$`)

// ZoneProblem says, in words, why name is not a time zone a process can
// use and what to write instead. name is one LoadLocation refused.
func ZoneProblem(name string) string {
	const howTo = "name the place, as the IANA time zone database does (Continent/City, like Europe/London or America/New_York)"
	upper := strings.ToUpper(name)
	if place, ok := zoneAbbreviations[upper]; ok {
		return fmt.Sprintf("%q is the name of a clock, which changes with summer time; %s: here probably %s", name, howTo, place)
	}
	if fixedOffset.MatchString(name) {
		return fmt.Sprintf("%q is a fixed offset from UTC, which ignores summer time; %s", name, howTo)
	}
	want := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(name), " ", "_"))
	for _, z := range commonZones {
		if strings.ToLower(z) == want || strings.HasSuffix(strings.ToLower(z), "/"+want) {
			return fmt.Sprintf("unknown time zone %q; did you mean %q?", name, z)
		}
	}
	if hint := DidYouMean(name, commonZones); hint != "" {
		return fmt.Sprintf("unknown time zone %q%s", name, hint)
	}
	return fmt.Sprintf("unknown time zone %q: %s", name, howTo)
}

// ambiguousZones load, but rarely mean what their author wanted: they keep
// one clock all year where the place it stands for changes in summer.
var ambiguousZones = map[string]string{"GMT": "Europe/London", "EST": "America/New_York", "MST": "America/Denver or America/Phoenix",
	"HST": "Pacific/Honolulu"}

// ZoneWarning is a caution about a zone that loads but keeps one clock all
// year ("GMT" is never British summer time), or "" when there is none.
func ZoneWarning(name string) string {
	if offset, ok := strings.CutPrefix(name, "Etc/GMT"); ok && len(offset) > 1 && (offset[0] == '+' || offset[0] == '-') {
		utc := "UTC-" + offset[1:] // POSIX's sign: Etc/GMT+1 is an hour behind UTC
		if offset[0] == '-' {
			utc = "UTC+" + offset[1:]
		}
		return fmt.Sprintf("time zone %q is %s, not %s (its sign is the opposite of what it looks like), and keeps that clock all year, without summer time; if you mean the time where people are, name the place, like Europe/Paris", name, utc, strings.Replace(name, "Etc/GMT", "UTC", 1))
	}
	if place, ok := ambiguousZones[name]; ok {
		return fmt.Sprintf("time zone %q keeps the same clock all year, without summer time; if you mean the time where people are, write %s", name, place)
	}
	return ""
}
