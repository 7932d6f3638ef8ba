package dsl

// The decoding of each step kind: what a review, task, approval, page, http
// call, deadline, repeat, notify, set, wait and sleep take, and what each
// checks of what it was given.

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

func (d *processDecoder) review(n *yaml.Node) *Review {
	must := func(s string) Duration { dur, _ := ParseDuration(s); return dur }
	out := &Review{Title: DefaultReviewTitle, Notice: must(defaultReviewNotice), Length: must(defaultReviewLength),
		RemindBefore: []Duration{must(defaultReviewRemind)}}
	var withinNode, attendeesNode *yaml.Node
	d.mapping(n, "review", map[string]field{
		"title": func(_, v *yaml.Node) { out.Title = d.str(v, "review.title"); d.template(v, out.Title) },
		"description": func(_, v *yaml.Node) {
			out.Description = d.str(v, "review.description")
			d.template(v, out.Description)
		},
		"within": func(_, v *yaml.Node) {
			withinNode = v
			if dur, ok := d.duration(v, "review.within"); ok {
				out.Within = dur
			}
		},
		"notice": func(_, v *yaml.Node) {
			if dur, ok := d.duration(v, "review.notice"); ok {
				out.Notice = dur
			}
		},
		"duration": func(_, v *yaml.Node) {
			dur, ok := d.duration(v, "review.duration")
			switch {
			case !ok:
			case !dur.IsFixed() || dur.Fixed < 15*time.Minute || dur.Fixed > 8*time.Hour:
				d.at(posOf(v), "review.duration is how long the meeting lasts: from 15m to 8h, not %s", dur)
			default:
				out.Length = dur
			}
		},
		"attendees": func(_, v *yaml.Node) {
			attendeesNode = v
			for _, t := range d.strList(v, "review.attendees") {
				if tg, ok := d.target(t); ok {
					out.Attendees = append(out.Attendees, tg)
				}
			}
		},
		"remind_before": func(_, v *yaml.Node) {
			out.RemindBefore = []Duration{}
			for _, item := range d.seq(v, "review.remind_before") {
				dur, ok := d.duration(item, "review.remind_before")
				switch {
				case !ok:
				case !dur.IsFixed():
					d.at(posOf(item), "review.remind_before takes fixed lengths of time (like 1h or 1d), not business days or months")
				default:
					out.RemindBefore = append(out.RemindBefore, dur)
				}
			}
		},
		"via": func(_, v *yaml.Node) {
			out.Via = d.str(v, "review.via")
			if _, ok := d.dir.Channel(out.Via); out.Via != "" && !ok {
				d.at(posOf(v), "unknown channel %q%s", out.Via, DidYouMean(out.Via, ids(d.dir.Channels, func(c Channel) string { return c.ID })))
			}
		},
	})
	if withinNode == nil {
		d.at(posOf(n), "review needs within: the window it must happen in, like 5 business days")
	}
	if attendeesNode == nil || len(out.Attendees) == 0 {
		d.at(posOf(n), "review needs attendees: who is invited (person:, team:, role:, schedule: or channel:)")
	}
	return out
}

func (d *processDecoder) task(n *yaml.Node) *Task {
	out := &Task{}
	var ownerNode, titleNode *yaml.Node
	d.mapping(n, "task", map[string]field{
		"owner": func(_, v *yaml.Node) {
			ownerNode = v
			owner := Located{d.str(v, "task.owner"), posOf(v)}
			if owner.Value == "" {
				return
			}
			if kind, _, _ := strings.Cut(owner.Value, ":"); kind != "person" && kind != "role" {
				d.at(posOf(v), "a task is owned by person:ID or role:NAME, not %q", owner.Value)
				return
			}
			if tg, ok := d.target(owner); ok {
				out.Owner = tg
			}
		},
		"title":       func(_, v *yaml.Node) { out.Title, titleNode = d.str(v, "task.title"), v; d.template(v, out.Title) },
		"description": func(_, v *yaml.Node) { out.Description = d.str(v, "task.description"); d.template(v, out.Description) },
		"due":         func(_, v *yaml.Node) { out.Due = d.optDuration(v, "task.due") },
		"wait":        func(_, v *yaml.Node) { out.Wait = d.boolean(v, "task.wait") },
	})
	if ownerNode == nil {
		d.at(posOf(n), "task needs an owner: person:ID or role:NAME")
	}
	if titleNode == nil {
		d.at(posOf(n), "task needs a title")
	}
	return out
}

func (d *processDecoder) approval(n *yaml.Node) *Approval {
	out := &Approval{}
	var roleNode, onTimeoutNode, everyNode, remindNode, messageNode *yaml.Node
	d.mapping(n, "approval", map[string]field{
		"role":       func(_, v *yaml.Node) { out.Role, roleNode = d.str(v, "approval.role"), v },
		"timeout":    func(_, v *yaml.Node) { out.Timeout = d.optDuration(v, "approval.timeout") },
		"on_timeout": func(_, v *yaml.Node) { onTimeoutNode = v; out.OnTimeout = d.steps(v, "on_timeout") },
		"remind_every": func(_, v *yaml.Node) {
			everyNode = v
			out.RemindEvery = d.optDuration(v, "approval.remind_every")
			if e := out.RemindEvery; e != nil && e.IsFixed() && e.Fixed < minRemindEvery {
				d.at(posOf(v), "approval.remind_every %s is too often: each reminder reaches people (their phones, their inboxes); remind every %s at the most often", e, formatFixed(minRemindEvery))
			}
		},
		"remind": func(_, v *yaml.Node) {
			remindNode = v
			list := d.strList(v, "approval.remind")
			if len(list) == 0 && v.Kind == yaml.SequenceNode {
				d.at(posOf(v), "approval.remind lists nobody: leave it out to remind the role's holder, or name who to remind (person:, team:, role:, schedule: or channel:)")
			}
			for _, t := range list {
				if tg, ok := d.target(t); ok {
					out.Remind = append(out.Remind, tg)
				}
			}
		},
		"remind_message": func(_, v *yaml.Node) {
			messageNode = v
			out.RemindMessage = d.str(v, "approval.remind_message")
			d.template(v, out.RemindMessage)
		},
	})
	d.reminding(out, everyNode, remindNode, messageNode)
	if roleNode == nil {
		d.at(posOf(n), "approval needs a role: who approves")
	} else {
		d.checks = append(d.checks, func() {
			if out.Role != "" && !slices.Contains(d.p.Roles, out.Role) {
				d.at(posOf(roleNode), "unknown role %q: the process declares roles %s%s", out.Role, orNone(d.p.Roles), DidYouMean(out.Role, d.p.Roles))
			}
		})
	}
	d.onTimeoutNeedsTimeout(onTimeoutNode, out.Timeout, "approval")
	return out
}

// reminding checks an approval's reminders: remind and remind_message go
// with remind_every, which must come round before the timeout does. The
// role's holder is reminded unless remind says who.
func (d *processDecoder) reminding(out *Approval, every, remind, message *yaml.Node) {
	if every == nil {
		for _, n := range []*yaml.Node{remind, message} {
			if n != nil {
				d.at(posOf(n), "approval.%s needs remind_every: how often to remind, like 4h", map[*yaml.Node]string{remind: "remind", message: "remind_message"}[n])
			}
		}
		return
	}
	if remind == nil && out.Role != "" {
		out.Remind = []Target{{Kind: "role", ID: out.Role}}
	}
	e, t := out.RemindEvery, out.Timeout
	if e == nil || t == nil {
		return
	}
	if e.Fixed >= t.Fixed && e.IsFixed() && t.IsFixed() || e.BusinessDays >= t.BusinessDays && e.BusinessDays > 0 && t.BusinessDays > 0 ||
		e.Months >= t.Months && e.Months > 0 && t.Months > 0 {
		d.at(posOf(every), "approval.remind_every %s is not shorter than its timeout %s, so no reminder would come before the approval times out: remind more often, like %s", e, t, shorterThan(*t))
	}
}

// minRemindEvery is how often, at most, an approval may remind.
const minRemindEvery = 5 * time.Minute

// shorterThan suggests a reminder interval for an approval that times out
// after t: a quarter of it, in hours when that is a whole number of them.
func shorterThan(t Duration) string {
	switch {
	case t.BusinessDays > 0 || t.Months > 0:
		return "1d"
	case t.Fixed >= 4*time.Hour:
		return formatFixed((t.Fixed / 4).Truncate(time.Hour))
	}
	return formatFixed(max((t.Fixed / 4).Truncate(time.Minute), time.Minute))
}

func (d *processDecoder) page(n *yaml.Node) *Page {
	out := &Page{}
	var msgNode *yaml.Node
	d.mapping(n, "page", map[string]field{
		"policy": func(_, v *yaml.Node) {
			out.Policy = d.str(v, "page.policy")
			if _, ok := d.dir.Policy(out.Policy); out.Policy != "" && !ok {
				d.at(posOf(v), "unknown escalation policy %q%s", out.Policy, DidYouMean(out.Policy, ids(d.dir.Policies, func(p Policy) string { return p.ID })))
			}
		},
		"message": func(_, v *yaml.Node) { out.Message, msgNode = d.str(v, "page.message"), v },
	})
	if out.Policy == "" {
		d.at(posOf(n), "page needs a policy: an escalation policy of the directory")
	}
	if msgNode == nil {
		d.at(posOf(n), "page needs a message")
	} else {
		d.template(msgNode, out.Message)
	}
	return out
}

// httpMethods are the methods an http step may use.
var httpMethods = []string{"DELETE", "GET", "PATCH", "POST", "PUT"}

var headerName = regexp.MustCompile("^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")

func (d *processDecoder) http(n *yaml.Node) *HTTP {
	out := &HTTP{Method: "POST"}
	var urlNode *yaml.Node
	d.mapping(n, "http", map[string]field{
		"method": func(_, v *yaml.Node) {
			out.Method = strings.ToUpper(d.str(v, "http.method"))
			if !slices.Contains(httpMethods, out.Method) {
				d.at(posOf(v), "http.method %q must be one of %s", v.Value, strings.Join(httpMethods, ", "))
			}
		},
		"url": func(_, v *yaml.Node) { out.URL, urlNode = d.str(v, "http.url"), v },
		"headers": func(_, v *yaml.Node) {
			out.Headers = d.stringMap(v, "http.headers", func(k, val *yaml.Node) {
				d.header(k)
				d.template(val, val.Value)
			})
		},
		"secret_headers": func(_, v *yaml.Node) {
			out.SecretHeaders = d.stringMap(v, "http.secret_headers", func(k, val *yaml.Node) {
				d.header(k)
				switch {
				case !envPattern.MatchString(val.Value):
					d.at(posOf(val), "secret_headers name environment variables (like %sJIRA_TOKEN), not %q: secrets never live in process files", SecretEnvPrefix, val.Value)
				case !strings.HasPrefix(val.Value, SecretEnvPrefix):
					d.at(posOf(val), "secret_headers name only variables meant for them, whose names start with %s (like %sJIRA_TOKEN), not %s: a process may not send the worker's other settings, its database password say, to any URL",
						SecretEnvPrefix, SecretEnvPrefix, val.Value)
				}
			})
		},
		"body": func(_, v *yaml.Node) {
			out.Body = value(v)
			d.bodyTemplates(v)
		},
		"expect": func(_, v *yaml.Node) {
			for _, item := range d.seq(v, "http.expect") {
				code, err := strconv.Atoi(item.Value)
				if item.Tag != "!!int" || err != nil || code < 100 || code > 599 {
					d.at(posOf(item), "http.expect lists HTTP statuses from 100 to 599, not %s", describe(item))
					continue
				}
				out.Expect = append(out.Expect, code)
			}
		},
		"output": func(_, v *yaml.Node) {
			out.Output = d.stringMap(v, "http.output", func(k, val *yaml.Node) {
				switch {
				case !namePattern.MatchString(k.Value):
					d.at(posOf(k), "output name %q must be lower-case letters, digits and _, starting with a letter", k.Value)
				case k.Value == "status" || k.Value == "failed":
					d.at(posOf(k), "output name %q is taken: every http step outputs status and failed", k.Value)
				case val.Value == "" || strings.Contains(val.Value, ".."):
					d.at(posOf(val), "output %q needs a field of the JSON response, like id or data.key", k.Value)
				}
			})
		},
	})
	switch {
	case urlNode == nil:
		d.at(posOf(n), "http needs a url")
	default:
		d.template(urlNode, out.URL)
		if !strings.HasPrefix(out.URL, "{{") && !strings.HasPrefix(out.URL, "http://") && !strings.HasPrefix(out.URL, "https://") {
			d.at(posOf(urlNode), "http.url %q must start with http:// or https://", out.URL)
		}
	}
	if out.Body != nil && out.Method == "GET" {
		d.at(posOf(n), "an http GET sends no body")
	}
	return out
}

// stringMap decodes a mapping of strings, calling check on each pair.
func (d *processDecoder) stringMap(n *yaml.Node, what string, check func(k, v *yaml.Node)) map[string]string {
	if n.Kind != yaml.MappingNode {
		d.at(posOf(n), "%s must be a mapping, not %s", what, describe(n))
		return nil
	}
	out := map[string]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		val := d.str(v, what+" value")
		out[k.Value] = val
		check(k, v)
	}
	return out
}

func (d *processDecoder) header(k *yaml.Node) {
	if !headerName.MatchString(k.Value) {
		d.at(posOf(k), "%q is not an HTTP header name", k.Value)
	}
}

// bodyTemplates checks every string in a request body as a template.
func (d *processDecoder) bodyTemplates(n *yaml.Node) {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!str" {
			d.template(n, n.Value)
		}
	case yaml.SequenceNode, yaml.MappingNode:
		for _, c := range n.Content {
			d.bodyTemplates(c)
		}
	}
}

func (d *processDecoder) deadline(n *yaml.Node) *Deadline {
	out := &Deadline{From: "declared"}
	seen := map[string]*yaml.Node{}
	var reminderPos []Pos
	d.mapping(n, "deadline", map[string]field{
		"title": func(_, v *yaml.Node) { seen["title"] = v; out.Title = d.str(v, "deadline.title") },
		"within": func(_, v *yaml.Node) {
			seen["within"] = v
			if dur, ok := d.duration(v, "deadline.within"); ok {
				out.Within = dur
			}
		},
		"from": func(_, v *yaml.Node) {
			seen["from"] = v
			out.From = d.str(v, "deadline.from")
			d.clockEvent(v, out.From, true)
		},
		"count": func(_, v *yaml.Node) {
			seen["count"] = v
			rule := strings.ToLower(d.str(v, "deadline.count"))
			if rule != "" && !slices.Contains(CountRules, rule) {
				d.at(posOf(v), "deadline.count %q is not a way of counting%s: write exact (from the moment, the default), eu (as Regulation 1182/71 counts periods) or us (as FRCP 6(a) and the SEC count them)", v.Value, DidYouMean(rule, CountRules))
				return
			}
			out.Count = rule
		},
		"calendar": func(_, v *yaml.Node) {
			id := d.str(v, "deadline.calendar")
			if c, ok := d.dir.NamedCalendar(id); ok {
				out.Calendar = &c
			} else if id != "" {
				names := ids(d.dir.Calendars, func(c Calendar) string { return c.ID })
				if len(names) == 0 {
					d.at(posOf(v), "unknown calendar %q: the directory lists no calendars (under calendars:); leave calendar out to count on the directory's own calendar", id)
				} else {
					d.at(posOf(v), "unknown calendar %q: the directory's calendars are %s%s", id, strings.Join(names, ", "), DidYouMean(id, names))
				}
			}
		},
		"day_ends": func(_, v *yaml.Node) {
			seen["day_ends"] = v
			out.DayEnds = d.str(v, "deadline.day_ends")
			if _, err := ParseDayEnd(out.DayEnds); out.DayEnds != "" && err != nil {
				d.at(posOf(v), "deadline.day_ends %v", err)
				out.DayEnds = ""
			}
		},
		"remind_before": func(_, v *yaml.Node) {
			seen["remind_before"] = v
			for _, item := range d.seq(v, "deadline.remind_before") {
				dur, ok := d.duration(item, "deadline.remind_before")
				switch {
				case !ok:
				case !dur.IsFixed():
					d.at(posOf(item), "deadline.remind_before takes fixed lengths of time (like 24h or 7d), not business days or months: a reminder comes that long before the due time")
				default:
					out.RemindBefore = append(out.RemindBefore, dur)
					reminderPos = append(reminderPos, posOf(item))
				}
			}
		},
		"notify": func(_, v *yaml.Node) {
			seen["notify"] = v
			for _, t := range d.strList(v, "deadline.notify") {
				if tg, ok := d.target(t); ok {
					out.Notify = append(out.Notify, tg)
				}
			}
		},
		"done_when": func(_, v *yaml.Node) {
			out.DoneWhen = d.str(v, "deadline.done_when")
			d.clockEvent(v, out.DoneWhen, false)
		},
		"overdue": func(_, v *yaml.Node) { out.Overdue = d.steps(v, "deadline.overdue") },
	})
	for _, k := range []string{"title", "within"} {
		if seen[k] == nil {
			d.at(posOf(n), "deadline needs %q", k)
		}
	}
	if seen["from"] == nil && seen["within"] != nil {
		// A clock counting from the wrong moment is due on the wrong day,
		// and nothing else would say so; beside errors, it would be noise.
		d.checks = append(d.checks, func() {
			if !d.failed() {
				d.warnAt(posOf(n), "deadline %q has no from, so its clock counts from when the incident is declared; when the law counts from something else (GDPR's 72 hours run from awareness), write from: field:aware_at, or from: declared to say it counts from the declaration", out.Title)
			}
		})
	}
	if seen["remind_before"] != nil && seen["notify"] == nil {
		d.at(posOf(seen["remind_before"]), "remind_before needs notify: who to remind")
	}
	d.counting(out, seen)
	if out.Within.IsFixed() && out.Within.Fixed > 0 {
		for i, rb := range out.RemindBefore {
			if rb.Fixed >= out.Within.Fixed {
				d.at(reminderPos[i], "a reminder %s before a deadline due within %s would come before the clock starts", rb, out.Within)
			}
		}
	}
	return out
}

// counting checks that a deadline's period can be counted as its count says.
func (d *processDecoder) counting(out *Deadline, seen map[string]*yaml.Node) {
	wholeDays := out.Count == CountEU || out.Count == CountUS
	within := out.Within
	switch {
	case seen["within"] == nil || within == (Duration{}):
	case wholeDays && !within.WholeDays() && !within.inHoursOnly():
		d.at(posOf(seen["within"]), "deadline.within %q mixes days and hours, which count: %s cannot count: write whole days (like 3 days, 2 weeks, 1 month or 4 business days) or hours only (like 36h)", within, out.Count)
	case out.DayEnds != "" && !wholeDays:
		d.at(posOf(seen["day_ends"]), "deadline.day_ends applies to periods counted in whole days: add count: eu or count: us, or remove day_ends (a period counted exactly ends at the same time of day)")
	case out.DayEnds != "" && !within.WholeDays():
		d.at(posOf(seen["day_ends"]), "deadline.day_ends has no effect: a period in hours (%s) ends at the same minute it started, under every count", within)
	}
}

// clockEvent checks what starts (from) or stops (done_when) a deadline.
func (d *processDecoder) clockEvent(n *yaml.Node, event string, start bool) {
	kind, arg, _ := strings.Cut(event, ":")
	switch {
	case kind == "signal" && arg != "":
		d.signalRef(arg, posOf(n))
	case start && kind == "field" && arg != "":
		d.checks = append(d.checks, func() {
			f, ok := d.p.Field(arg)
			switch {
			case !ok:
				d.at(posOf(n), "deadline.from names field %q, which the process does not declare%s", arg, DidYouMean(arg, ids(d.p.Fields, func(f FieldDef) string { return f.Name })))
			case f.Type != "time":
				d.at(posOf(n), "deadline.from: field %q is a %s; a clock starts from a time field", arg, f.Type)
			}
		})
	case start && (event == "declared" || event == "acknowledged"):
	case start:
		d.at(posOf(n), "deadline.from %q must be declared, acknowledged, signal:NAME or field:NAME", event)
	default:
		d.at(posOf(n), "deadline.done_when %q must be signal:NAME", event)
	}
}

func (d *processDecoder) repeat(n *yaml.Node) *Repeat {
	out := &Repeat{}
	var untilNode *yaml.Node
	seen := map[string]bool{}
	d.mapping(n, "repeat", map[string]field{
		"every": func(_, v *yaml.Node) {
			seen["every"] = true
			if dur, ok := d.duration(v, "repeat.every"); ok {
				out.Every = dur
			}
		},
		"until": func(_, v *yaml.Node) { seen["until"] = true; out.Until, untilNode = d.str(v, "repeat.until"), v },
		"steps": func(_, v *yaml.Node) {
			seen["steps"] = true
			out.Steps = d.steps(v, "repeat.steps")
			if len(out.Steps) == 0 {
				d.at(posOf(v), "repeat.steps needs at least one step")
			}
		},
	})
	for _, k := range []string{"every", "until", "steps"} {
		if !seen[k] {
			d.at(posOf(n), "repeat needs %q", k)
		}
	}
	if untilNode != nil {
		// until is checked after each round, so it sees the round's steps.
		var inside []string
		WalkSteps(out.Steps, func(s *Step) { inside = append(inside, s.ID) })
		d.condition(untilNode, out.Until, inside...)
	}
	return out
}

func (d *processDecoder) notify(n *yaml.Node) *Notify {
	out := &Notify{}
	var msgNode *yaml.Node
	var toSeen bool
	d.mapping(n, "notify", map[string]field{
		"to": func(_, v *yaml.Node) {
			toSeen = true
			for _, t := range d.strList(v, "notify.to") {
				if tg, ok := d.target(t); ok {
					out.To = append(out.To, tg)
				}
			}
		},
		"message": func(_, v *yaml.Node) { out.Message, msgNode = d.str(v, "message"), v },
	})
	if !toSeen {
		d.at(posOf(n), "notify needs \"to\": who or where the message goes")
	}
	if msgNode == nil {
		d.at(posOf(n), "notify needs a message")
	} else {
		d.template(msgNode, out.Message)
	}
	return out
}

// target parses and resolves channel:ID, person:ID, team:ID or role:NAME.
func (d *processDecoder) target(t Located) (Target, bool) {
	kind, id, ok := strings.Cut(t.Value, ":")
	switch {
	case ok && strings.Contains(id, "@"):
		d.at(t.Pos, "%q: e-mail goes out through a channel of the directory, so write channel:ID for an email channel whose to lists %s (or person:ID for someone with that e-mail)", t.Value, id)
		return Target{}, false
	case ok && slices.Contains(TargetKinds, strings.ToLower(kind)) && kind != strings.ToLower(kind):
		d.at(t.Pos, "write the kind in lower case: %s:%s", strings.ToLower(kind), id)
		return Target{}, false
	case !ok:
		d.checks = append(d.checks, func() { d.at(t.Pos, "%s", d.kindless(t.Value)) })
		return Target{}, false
	case !slices.Contains(TargetKinds, kind):
		d.at(t.Pos, "target %q must be written kind:id, with kind one of %s%s", t.Value, strings.Join(TargetKinds, ", "), DidYouMean(kind, TargetKinds))
		return Target{}, false
	}
	tg := Target{Kind: kind, ID: id}
	switch kind {
	case "channel":
		if _, ok := d.dir.Channel(id); !ok {
			d.at(t.Pos, "unknown channel %q%s", id, DidYouMean(id, ids(d.dir.Channels, func(c Channel) string { return c.ID })))
		}
	case "person":
		p, ok := d.dir.Person(id)
		if !ok {
			d.at(t.Pos, "unknown person %q%s", id, DidYouMean(id, d.dir.PersonIDs()))
		} else if d.dir.ChannelFor(p) == "" {
			d.at(t.Pos, "person %q cannot be reached: they have no page_via channel and the directory sets no default_channel", id)
		}
	case "team":
		if _, ok := d.dir.Team(id); !ok {
			d.at(t.Pos, "unknown team %q%s", id, DidYouMean(id, ids(d.dir.Teams, func(t Team) string { return t.ID })))
		}
	case "schedule":
		if _, ok := d.dir.Schedule(id); !ok {
			d.at(t.Pos, "unknown schedule %q%s", id, DidYouMean(id, ids(d.dir.Schedules, func(s Schedule) string { return s.ID })))
		}
	case "role":
		d.checks = append(d.checks, func() {
			if !slices.Contains(d.p.Roles, id) {
				d.at(t.Pos, "unknown role %q: the process declares roles %s%s", id, orNone(d.p.Roles), DidYouMean(id, d.p.Roles))
			}
		})
	}
	return tg, true
}

// kindless says how to write a target written without its kind, naming
// the kinds under which the directory or the process knows that id.
func (d *processDecoder) kindless(id string) string {
	var known []string
	if _, ok := d.dir.Channel(id); ok {
		known = append(known, "channel:"+id)
	}
	if _, ok := d.dir.Person(id); ok {
		known = append(known, "person:"+id)
	}
	if _, ok := d.dir.Team(id); ok {
		known = append(known, "team:"+id)
	}
	if slices.Contains(d.p.Roles, id) {
		known = append(known, "role:"+id)
	}
	if _, ok := d.dir.Schedule(id); ok {
		known = append(known, "schedule:"+id)
	}
	if len(known) > 0 {
		return fmt.Sprintf("target %q needs its kind before it: write %s", id, strings.Join(known, " or "))
	}
	return fmt.Sprintf("target %q needs its kind before it, as kind:id: channel:%s, person:%s, team:%s, role:%s or schedule:%s", id, id, id, id, id, id)
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "(none)"
	}
	return strings.Join(list, ", ")
}

func (d *processDecoder) set(n *yaml.Node) *Set {
	out := &Set{}
	d.mapping(n, "set", map[string]field{
		"status": func(_, v *yaml.Node) {
			out.Status = d.str(v, "status")
			if out.Status != "" && !IsStatus(out.Status) {
				d.at(posOf(v), "unknown status %q%s (statuses: %s)", out.Status, DidYouMean(out.Status, Statuses), strings.Join(Statuses, ", "))
			}
		},
		"severity": func(_, v *yaml.Node) {
			out.Severity = d.str(v, "severity")
			d.checks = append(d.checks, func() {
				if out.Severity != "" && d.p.SeverityRank(out.Severity) < 0 {
					d.at(posOf(v), "unknown severity %q%s (severities: %s)", out.Severity, DidYouMean(out.Severity, d.p.Severities), strings.Join(d.p.Severities, ", "))
				}
			})
		},
		"fields": func(_, v *yaml.Node) {
			if v.Kind != yaml.MappingNode {
				d.at(posOf(v), "set.fields must map field names to values, not %s", describe(v))
				return
			}
			out.Fields = map[string]any{}
			for i := 0; i+1 < len(v.Content); i += 2 {
				k, val := v.Content[i], v.Content[i+1]
				out.Fields[k.Value] = value(val)
				d.checks = append(d.checks, func() {
					def, ok := d.p.Field(k.Value)
					if !ok {
						d.at(posOf(k), "set.fields names %q, which the process does not declare%s", k.Value, DidYouMean(k.Value, ids(d.p.Fields, func(f FieldDef) string { return f.Name })))
						return
					}
					norm, err := NormalizeField(def, fieldValue(def, val))
					if err != nil {
						d.at(posOf(val), "field %q %v", k.Value, err)
						return
					}
					out.Fields[k.Value] = norm
				})
			}
		},
		"roles": func(_, v *yaml.Node) {
			if v.Kind != yaml.MappingNode {
				d.at(posOf(v), "set.roles must map role names to person ids, not %s", describe(v))
				return
			}
			out.Roles = map[string]string{}
			for i := 0; i+1 < len(v.Content); i += 2 {
				k, val := v.Content[i], v.Content[i+1]
				person := d.str(val, "a role holder")
				out.Roles[k.Value] = person
				if _, ok := d.dir.Person(person); person != "" && !ok {
					d.at(posOf(val), "unknown person %q%s", person, DidYouMean(person, d.dir.PersonIDs()))
				}
				d.checks = append(d.checks, func() {
					if !slices.Contains(d.p.Roles, k.Value) {
						d.at(posOf(k), "unknown role %q: the process declares roles %s%s", k.Value, orNone(d.p.Roles), DidYouMean(k.Value, d.p.Roles))
					}
				})
			}
		},
	})
	if out.Status == "" && out.Severity == "" && out.Fields == nil && out.Roles == nil {
		d.at(posOf(n), "set needs at least one of status, severity, fields, roles")
	}
	return out
}

func (d *processDecoder) wait(n *yaml.Node) *Wait {
	out := &Wait{}
	var forNode, onTimeoutNode *yaml.Node
	d.mapping(n, "wait", map[string]field{
		"for": func(_, v *yaml.Node) { out.For, forNode = d.str(v, "wait.for"), v },
		"signal": func(_, v *yaml.Node) {
			out.Signal = d.str(v, "wait.signal")
			d.signalRef(out.Signal, posOf(v))
		},
		"timeout": func(_, v *yaml.Node) {
			if dur, ok := d.duration(v, "wait.timeout"); ok {
				out.Timeout = &dur
			}
		},
		"on_timeout": func(_, v *yaml.Node) { onTimeoutNode = v; out.OnTimeout = d.steps(v, "on_timeout") },
	})
	if out.For == "" && out.Signal == "" {
		d.at(posOf(n), "wait needs \"for\" (a condition), \"signal\" (a name), or both")
	}
	if forNode != nil {
		d.condition(forNode, out.For)
	}
	d.onTimeoutNeedsTimeout(onTimeoutNode, out.Timeout, "wait")
	return out
}

// onTimeoutNeedsTimeout reports on_timeout steps that can never run.
func (d *processDecoder) onTimeoutNeedsTimeout(onTimeout *yaml.Node, timeout *Duration, kind string) {
	if onTimeout != nil && timeout == nil {
		d.at(posOf(onTimeout), "on_timeout never runs: this %s has no timeout", kind)
	}
}

func (d *processDecoder) sleep(n *yaml.Node) *Sleep {
	out := &Sleep{}
	seen := false
	d.mapping(n, "sleep", map[string]field{
		"for": func(_, v *yaml.Node) {
			seen = true
			if dur, ok := d.duration(v, "sleep.for"); ok {
				out.For = dur
			}
		},
	})
	if !seen {
		d.at(posOf(n), "sleep needs \"for\": how long, like 30m or 2 business days")
	}
	return out
}
