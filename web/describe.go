package web

import (
	"fmt"
	"sort"
	"strings"

	"github.com/incidentflow/incidentflow/dsl"
)

// A process says in YAML what it does; the processes page says it in
// words, step by step, for the people who follow it without reading YAML.

// sentence is what one step does, in words, and the steps inside it.
type sentence struct {
	Name string
	Text string
	// If is the condition the step runs under; Background says it runs
	// beside the steps after it.
	If         string
	Background bool
	Sub        []sentence
	// Then are the steps run when it times out or is missed.
	Then []sentence
}

// handlerWords is what a process does when something changes.
type handlerWords struct {
	When  string
	Steps []sentence
}

func describeSteps(steps []dsl.Step) []sentence {
	out := make([]sentence, 0, len(steps))
	for i := range steps {
		out = append(out, describeStep(&steps[i]))
	}
	return out
}

func describeStep(s *dsl.Step) sentence {
	w := sentence{Name: s.Name, If: s.If, Background: s.Background}
	switch {
	case s.Notify != nil:
		w.Text = "Tells " + targets(s.Notify.To) + ": “" + s.Notify.Message + "”"
	case s.Page != nil:
		w.Text = "Pages through the escalation policy " + s.Page.Policy + " until someone acknowledges: “" + s.Page.Message + "”"
	case s.Wait != nil:
		var what []string
		if s.Wait.For != "" {
			what = append(what, "until "+s.Wait.For)
		}
		if s.Wait.Signal != "" {
			what = append(what, "for the signal "+s.Wait.Signal)
		}
		w.Text = "Waits " + strings.Join(what, " or ")
		if s.Wait.Timeout != nil {
			w.Text += ", for up to " + s.Wait.Timeout.String()
			w.Then = describeSteps(s.Wait.OnTimeout)
		}
	case s.Sleep != nil:
		w.Text = "Waits " + s.Sleep.For.String()
	case s.Deadline != nil:
		d := s.Deadline
		w.Text = fmt.Sprintf("Starts the clock “%s”: due %s after %s", d.Title, d.Within, from(d.From))
		if len(d.RemindBefore) > 0 {
			var before []string
			for _, b := range d.RemindBefore {
				before = append(before, b.String())
			}
			w.Text += "; reminds " + targets(d.Notify) + " " + strings.Join(before, ", ") + " before it falls due"
		}
		if d.DoneWhen != "" {
			w.Text += "; met when " + from(d.DoneWhen) + " comes"
		}
		w.Then = describeSteps(d.Overdue)
	case s.Set != nil:
		w.Text = "Sets " + settings(s.Set)
	case s.HTTP != nil:
		w.Text = "Calls another system: " + s.HTTP.Method + " " + s.HTTP.URL
	case s.Task != nil:
		w.Text = "Gives " + target(s.Task.Owner) + " a follow-up: “" + s.Task.Title + "”"
		if s.Task.Due != nil {
			w.Text += ", due within " + s.Task.Due.String()
		}
		if s.Task.Wait {
			w.Text += ", and waits until it is done"
		}
	case s.Approval != nil:
		w.Text = "Waits for the " + words(s.Approval.Role) + " to approve"
		if ap := s.Approval; ap.RemindEvery != nil {
			w.Text += ", reminding " + targets(ap.Remind) + " every " + ap.RemindEvery.String()
		}
		if s.Approval.Timeout != nil {
			w.Text += ", for up to " + s.Approval.Timeout.String()
			w.Then = describeSteps(s.Approval.OnTimeout)
		}
	case s.Review != nil:
		w.Text = "Schedules the post-incident review within " + s.Review.Within.String() + ", invites " + targets(s.Review.Attendees) +
			", and waits until it is marked held"
	case s.Parallel != nil:
		w.Text, w.Sub = "Does these at the same time:", describeSteps(s.Parallel)
	case s.Steps != nil:
		w.Text, w.Sub = "Does these in order:", describeSteps(s.Steps)
	case s.Repeat != nil:
		w.Text, w.Sub = "Every "+s.Repeat.Every.String()+", until "+s.Repeat.Until+":", describeSteps(s.Repeat.Steps)
	}
	return w
}

// describeTrigger says when a handler runs.
func describeTrigger(on string) string {
	kind, arg, _ := strings.Cut(on, ":")
	switch kind {
	case "severity_raised":
		return "When the severity is raised"
	case "severity_lowered":
		return "When the severity is lowered"
	case "status_changed":
		return "When the status changes"
	case "field_changed":
		return "When the field " + words(arg) + " changes"
	case "signal":
		return "When someone sends the signal " + arg
	}
	return "On " + on
}

// describeWhen is what a handler's condition adds to its trigger's words.
func describeWhen(h dsl.Handler) string {
	switch {
	case h.When == "":
		return ""
	case h.EveryChange:
		return ", while " + h.When
	}
	return ", once each time the change makes " + h.When + " true"
}

func from(event string) string {
	kind, arg, _ := strings.Cut(event, ":")
	switch kind {
	case "declared":
		return "the incident is declared"
	case "acknowledged":
		return "the incident is acknowledged"
	case "signal":
		return "the signal " + arg
	case "field":
		return "the time in the field " + words(arg)
	}
	return event
}

func settings(set *dsl.Set) string {
	var parts []string
	if set.Status != "" {
		parts = append(parts, "the status to "+set.Status)
	}
	if set.Severity != "" {
		parts = append(parts, "the severity to "+set.Severity)
	}
	for _, k := range sortedKeys(set.Fields) {
		parts = append(parts, fmt.Sprintf("the field %s to %v", words(k), set.Fields[k]))
	}
	for _, k := range sortedKeys(set.Roles) {
		parts = append(parts, "the "+words(k)+" to "+set.Roles[k])
	}
	return strings.Join(parts, ", ")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func targets(ts []dsl.Target) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = target(t)
	}
	switch len(names) {
	case 0:
		return "nobody"
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

func target(t dsl.Target) string {
	switch t.Kind {
	case "channel":
		return "#" + t.ID
	case "team":
		return "the " + t.ID + " team"
	case "role":
		return "the " + words(t.ID)
	case "schedule":
		return "whoever is on call for " + t.ID
	}
	return t.ID
}

func words(s string) string { return strings.ReplaceAll(s, "_", " ") }
