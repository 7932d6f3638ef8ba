package channels

import (
	"fmt"
	"github.com/incidentflow/incidentflow/dsl"
	"net/mail"
	"strings"
	"time"
	"unicode"
)

// When is the meeting's time written for people, in its time zone.
func When(inv *Invitation) string {
	loc := time.UTC
	if l, err := dsl.LoadLocation(inv.TimeZone); err == nil && inv.TimeZone != "" {
		loc = l
	}
	start, end := inv.Start.In(loc), inv.End.In(loc)
	return fmt.Sprintf("%s–%s %s", start.Format("Mon 2 Jan 2006 15:04"), end.Format("15:04"), start.Format("MST"))
}

// ICS renders the invitation as an iCalendar object (RFC 5545) with
// METHOD:REQUEST, organised by organizer: what calendar clients accept as an
// invitation, and, with a higher SEQUENCE and the same UID, as its update;
// a cancelled one is METHOD:CANCEL, STATUS:CANCELLED.
func ICS(inv Invitation, organizer mail.Address) []byte {
	var b strings.Builder
	line := func(name, value string) { b.WriteString(fold(name + ":" + value)) }
	utc := func(t time.Time) string { return t.UTC().Format("20060102T150405Z") }
	line("BEGIN", "VCALENDAR")
	line("PRODID", "-//incidentflow//incidentflow//EN")
	line("VERSION", "2.0")
	line("CALSCALE", "GREGORIAN")
	line("METHOD", inv.Method())
	line("BEGIN", "VEVENT")
	line("UID", inv.UID)
	line("SEQUENCE", fmt.Sprint(inv.Sequence))
	line("DTSTAMP", utc(inv.Stamp))
	line("DTSTART", utc(inv.Start))
	line("DTEND", utc(inv.End))
	line("SUMMARY", escapeText(inv.Summary))
	if inv.Description != "" {
		line("DESCRIPTION", escapeText(inv.Description))
	}
	line("ORGANIZER"+cn(organizer.Name), "mailto:"+organizer.Address)
	for _, a := range inv.Attendees {
		if a.Email == "" {
			continue
		}
		line("ATTENDEE"+cn(a.Name)+";ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE", "mailto:"+a.Email)
	}
	if inv.Cancelled {
		line("STATUS", "CANCELLED")
	} else {
		line("STATUS", "CONFIRMED")
	}
	line("TRANSP", "OPAQUE")
	line("END", "VEVENT")
	line("END", "VCALENDAR")
	return []byte(b.String())
}

// cn is a CN parameter, quoted because names may hold , ; and :.
func cn(name string) string {
	if name == "" {
		return ""
	}
	return `;CN="` + strings.NewReplacer(`"`, "'", "\r", "", "\n", " ").Replace(name) + `"`
}

// escapeText escapes a TEXT value (RFC 5545 §3.3.11), which may hold no
// control character but a tab: the others are dropped.
func escapeText(s string) string {
	s = strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\r\n", `\n`, "\n", `\n`, "\r", `\n`).Replace(s)
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) && r != '\t' {
			return -1
		}
		return r
	}, s)
}

// fold ends a content line with CRLF, folding it so that no line is longer
// than 75 octets (RFC 5545 §3.1), without splitting a UTF-8 character.
func fold(s string) string {
	var b strings.Builder
	limit := 75
	for len(s) > limit {
		cut := limit
		for cut > 0 && s[cut]&0xC0 == 0x80 { // inside a multi-byte character
			cut--
		}
		b.WriteString(s[:cut])
		b.WriteString("\r\n ")
		s = s[cut:]
		limit = 74 // the leading space counts
	}
	b.WriteString(s)
	b.WriteString("\r\n")
	return b.String()
}
