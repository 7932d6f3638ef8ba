package web

import (
	"fmt"
	"html/template"
	"math"
	"strings"
	"time"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/dsl"
)

// clock writes times as the reader reads them: in their own time zone
// (the directory's, else the organisation's calendar's), and relative to now.
type clock struct {
	Loc *time.Location
	Now time.Time
}

// clock is the clock of a reader; nil is someone not signed in.
func (s *Server) clock(who *incidentflow.Principal) clock {
	loc := time.UTC
	dir := s.cfg.App.Catalog().Directory
	if l := dir.Calendar.Location(); l != nil {
		loc = l
	}
	if who != nil {
		if p, ok := dir.Person(who.ID); ok && p.Timezone != "" {
			if l, err := dsl.LoadLocation(p.Timezone); err == nil {
				loc = l
			}
		}
	}
	return clock{Loc: loc, Now: s.cfg.Now()}
}

// When is a time as people read it, in the reader's zone.
func (c clock) When(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(c.Loc).Format("Mon 2 Jan 2006 15:04 MST")
}

// Short is When without the year and zone, for tables.
func (c clock) Short(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(c.Loc).Format("Mon 2 Jan 15:04")
}

// ISO is a time for a <time datetime> attribute.
func (c clock) ISO(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// Input is a time as a datetime-local input holds it, in the reader's zone.
func (c clock) Input(t time.Time) string { return t.In(c.Loc).Format(dsl.LocalTimeLayout) }

// Zone names the reader's time zone.
func (c clock) Zone() string { return c.Loc.String() }

// Rel says how far a time is from now: "in 3h 10m", "2d ago".
func (c clock) Rel(t time.Time) string {
	d := t.Sub(c.Now)
	if d >= 0 {
		return "in " + span(d)
	}
	return span(-d) + " ago"
}

// Overdue reports whether a time has passed.
func (c clock) Overdue(t time.Time) bool { return t.Before(c.Now) }

// span writes a duration in its two largest units.
func span(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "less than a minute"
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 24*time.Hour:
		h := int(d.Hours())
		if m := int(d.Minutes()) % 60; m > 0 {
			return fmt.Sprintf("%dh %dm", h, m)
		}
		return fmt.Sprintf("%dh", h)
	}
	days := int(d.Hours()) / 24
	if h := int(d.Hours()) % 24; h > 0 {
		return fmt.Sprintf("%dd %dh", days, h)
	}
	return fmt.Sprintf("%dd", days)
}

// funcs are the templates' helpers.
var funcs = template.FuncMap{
	"join": strings.Join,
	// words turns an identifier into words: customer_impact → customer impact.
	"words": words,
	"span": func(seconds float64) string {
		if math.IsNaN(seconds) {
			return "—"
		}
		return span(time.Duration(seconds * float64(time.Second)))
	},
	// pair hands a list of deadlines to a template with its page.
	"pair": func(p page, items []incidentflow.Deadline) deadlineList { return deadlineList{Page: p, Items: items} },
	// add places a chart's shapes.
	"add": func(a, b float64) float64 { return a + b },
	// groupsOf hands response times to a template, with what they are by.
	"groupsOf": func(by string, g []group) groupList { return groupList{By: by, Groups: g} },
	// filter hands a list's filter to its select.
	"list": func(items ...string) []string { return items },
	"filter": func(name, label string, options []string, selected string) filterSelect {
		return filterSelect{Name: name, Label: label, Options: options, Selected: selected}
	},
	// once is a fresh nonce for a form, so that sending it twice acts once.
	"once": random,
}

// deadlineList is deadlines with the page they are shown on.
type deadlineList struct {
	Page  page
	Items []incidentflow.Deadline
}

// groupList is response times and what they are grouped by.
type groupList struct {
	By     string
	Groups []group
}

// filterSelect is one filter of a list: its name, its choices, the one chosen.
type filterSelect struct {
	Name, Label string
	Options     []string
	Selected    string
}
