package dsl

import (
	"fmt"
	"maps"
	"net"
	"net/mail"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/incidentflow/incidentflow"
)

// Directory is the organisation as processes see it: people, teams, delivery
// channels and the business calendar. It lives in directory.yaml beside the
// process files and is resolved when a step runs, so edits reach open incidents.
type Directory struct {
	People    []Person   `json:"people,omitempty"`
	Teams     []Team     `json:"teams,omitempty"`
	Schedules []Schedule `json:"schedules,omitempty"`
	Policies  []Policy   `json:"policies,omitempty"`
	Channels  []Channel  `json:"channels,omitempty"`
	Calendar  *Calendar  `json:"calendar,omitempty"`
	// Calendars are further named calendars a deadline may count on
	// (deadline.calendar): a regulator's business days, say, where they are
	// not the organisation's.
	Calendars []Calendar `json:"calendars,omitempty"`
	// DefaultChannel reaches people who name no page_via channel of their own.
	DefaultChannel string `json:"default_channel,omitempty"`
	// SMTP is the mail server e-mail channels send through.
	SMTP *SMTP `json:"smtp,omitempty"`
}

// SMTP is how e-mail leaves: the submission server, the sender, and the
// credentials, whose password comes from an environment variable.
type SMTP struct {
	Server      string `json:"server"` // host:port
	From        string `json:"from"`
	Username    string `json:"username,omitempty"`
	PasswordEnv string `json:"password_env,omitempty"`
	// StartTLS is required (the default: refuse a server that cannot encrypt),
	// opportunistic (encrypt when offered) or off (a local relay only).
	StartTLS string `json:"starttls,omitempty"`
}

// StartTLSModes are the values SMTP.StartTLS may take.
var StartTLSModes = []string{"required", "opportunistic", "off"}

// Person is someone who can be notified or paged.
type Person struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Email    string `json:"email,omitempty"`
	Timezone string `json:"timezone,omitempty"`
	PageVia  string `json:"page_via,omitempty"`
	// Access is what the person may do when signed in: viewer, responder
	// (the default) or admin.
	Access string `json:"access,omitempty"`
}

// PersonAccess are the access roles a person may be given: viewer (reads
// what they may see), responder (acts on incidents; the default) or admin.
var PersonAccess = []string{"viewer", "responder", "admin"}

// orWord is s, or word when s is empty.
func orWord(s, word string) string {
	if s == "" {
		return word
	}
	return s
}

// AccessRole is the person's access role: responder unless the directory says otherwise.
func (p Person) AccessRole() string {
	if p.Access == "" {
		return "responder"
	}
	return p.Access
}

// Team is a named group of people.
type Team struct {
	ID      string   `json:"id"`
	Name    string   `json:"name,omitempty"`
	Members []string `json:"members"`
}

// Schedule says who is on call when: a rotation through members, handing
// off every Every at the Handoff wall-clock time in Timezone, and overrides.
type Schedule struct {
	ID        string     `json:"id"`
	Timezone  string     `json:"timezone,omitempty"`
	Rotation  Rotation   `json:"rotation"`
	Layers    []Layer    `json:"layers,omitempty"`
	Overrides []Override `json:"overrides,omitempty"`
}

// Layer is a rotation laid over the schedule's own for part of the week:
// on its Days (all when empty), between From and To (local HH:MM, all day
// when empty; a window may run past midnight, and then belongs to the day
// it starts). The last layer covering an instant decides who is on call.
type Layer struct {
	Rotation Rotation       `json:"rotation"`
	Days     []time.Weekday `json:"days,omitempty"`
	From     string         `json:"from,omitempty"`
	To       string         `json:"to,omitempty"`
}

// Rotation hands on call from one member to the next every Every, starting
// with the first member at Handoff (local time, YYYY-MM-DDTHH:MM).
type Rotation struct {
	Every   Duration `json:"every"`
	Handoff string   `json:"handoff"`
	Members []string `json:"members"`
}

// Override puts Person on call from From until To (local times).
type Override struct {
	Person string `json:"person"`
	From   string `json:"from"`
	To     string `json:"to"`
}

// LocalTimeLayout is how schedules write instants in their time zone.
const LocalTimeLayout = "2006-01-02T15:04"

// Policy is an escalation policy: levels paged one after another until
// someone acknowledges, the whole run repeated Repeat more times.
type Policy struct {
	ID     string  `json:"id"`
	Levels []Level `json:"levels"`
	Repeat int     `json:"repeat,omitempty"`
}

// Level is one escalation level: its targets, and how long they have to acknowledge.
type Level struct {
	Targets   []Target `json:"targets"`
	AckWithin Duration `json:"ack_within"`
}

// Schedule returns the schedule with the given id.
func (d *Directory) Schedule(id string) (Schedule, bool) {
	return find(d.Schedules, id, func(s Schedule) string { return s.ID })
}

// NamedCalendar returns the calendar of Calendars with the given id.
func (d *Directory) NamedCalendar(id string) (Calendar, bool) {
	return find(d.Calendars, id, func(c Calendar) string { return c.ID })
}

// Policy returns the escalation policy with the given id.
func (d *Directory) Policy(id string) (Policy, bool) {
	return find(d.Policies, id, func(p Policy) string { return p.ID })
}

// ChannelTypes are the delivery mechanisms a channel may use.
var ChannelTypes = []string{"console", "email", "pagerduty", "slack", "webhook"}

// Channel is a delivery destination. Secrets are never written here: the
// channel names the environment variables that hold them.
type Channel struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	// webhook
	URL       string `json:"url,omitempty"`
	URLEnv    string `json:"url_env,omitempty"`
	SecretEnv string `json:"secret_env,omitempty"`
	// email: the addresses a message to the channel itself goes to; people
	// reached through it get it at their own address.
	To []string `json:"to,omitempty"`
	// slack: the incoming webhook's URL is a secret, so only its variable is named.
	WebhookURLEnv string `json:"webhook_url_env,omitempty"`
	// pagerduty: the integration's routing key, and the Events API v2
	// endpoint (default PagerDutyEventsURL; the EU service has its own).
	RoutingKeyEnv string `json:"routing_key_env,omitempty"`
	EventsURL     string `json:"events_url,omitempty"`
	// Personal says a webhook delivers each message to the one person it
	// names (a pager), so the action links it carries may act as them.
	Personal bool `json:"personal,omitempty"`
}

// ReachesOnePerson reports whether a delivery to a person through the
// channel reaches that person alone, so that it may carry links that act
// as them: e-mail (at their own address), the console (dev), and webhooks
// marked personal. Slack, PagerDuty and other webhooks post where others
// read too.
func (c Channel) ReachesOnePerson() bool {
	return c.Type == "email" || c.Type == "console" || c.Type == "webhook" && c.Personal
}

// PagerDutyEventsURL is where PagerDuty's Events API v2 takes events.
const PagerDutyEventsURL = "https://events.pagerduty.com/v2/enqueue"

// Person returns the person with the given id.
func (d *Directory) Person(id string) (Person, bool) {
	return find(d.People, id, func(p Person) string { return p.ID })
}

// PersonIDs lists the ids of the directory's people, in order.
func (d *Directory) PersonIDs() []string { return ids(d.People, func(p Person) string { return p.ID }) }

// Team returns the team with the given id.
func (d *Directory) Team(id string) (Team, bool) {
	return find(d.Teams, id, func(t Team) string { return t.ID })
}

// Channel returns the channel with the given id.
func (d *Directory) Channel(id string) (Channel, bool) {
	return find(d.Channels, id, func(c Channel) string { return c.ID })
}

// ChannelFor returns the id of the channel that reaches person p.
func (d *Directory) ChannelFor(p Person) string {
	if p.PageVia != "" {
		return p.PageVia
	}
	return d.DefaultChannel
}

// find returns the item whose id is id.
func find[T any](items []T, id string, idOf func(T) string) (T, bool) {
	for _, it := range items {
		if idOf(it) == id {
			return it, true
		}
	}
	var zero T
	return zero, false
}

// ids lists the ids of items, for did-you-mean hints.
func ids[T any](items []T, id func(T) string) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = id(it)
	}
	return out
}

// directoryDecoder turns directory.yaml into a Directory, reporting every problem.
type directoryDecoder struct {
	walker
	dir       Directory
	personPos map[string]Pos
	// channelPos is where each channel is declared, for problems found later.
	channelPos map[string]Pos
	// levelTargets are each policy's level targets as written, resolved once
	// schedules, people and teams are all read.
	levelTargets map[string][][]Located
}

// AnonymousID is the name the audit log gives whoever no token, session
// or link vouched for; no person may have it.
const AnonymousID = "anonymous"

func decodeDirectory(w walker, root *yaml.Node) *Directory {
	d := &directoryDecoder{walker: w, personPos: map[string]Pos{}, channelPos: map[string]Pos{}, levelTargets: map[string][][]Located{}}
	var teamMembers, members []Located
	var pageVia []Located
	var defaultChannel Located
	w.mapping(root, "the directory", map[string]field{
		"people": func(_, v *yaml.Node) {
			for _, n := range w.seq(v, "people") {
				var p Person
				var pos Pos
				w.mapping(n, "a person", map[string]field{
					"id":       func(_, v *yaml.Node) { p.ID, pos = w.str(v, "id"), posOf(v) },
					"name":     func(_, v *yaml.Node) { p.Name = w.str(v, "name") },
					"email":    func(_, v *yaml.Node) { p.Email = d.email(v) },
					"timezone": func(_, v *yaml.Node) { p.Timezone = d.timezone(v) },
					"page_via": func(_, v *yaml.Node) {
						p.PageVia = w.str(v, "page_via")
						pageVia = append(pageVia, Located{p.PageVia, posOf(v)})
					},
					"access": func(_, v *yaml.Node) {
						p.Access = w.str(v, "access")
						if p.Access != "" && !slices.Contains(PersonAccess, p.Access) {
							w.at(posOf(v), "access %q is not one of %s%s: it says what %s may do when signed in", p.Access,
								strings.Join(PersonAccess, ", "), DidYouMean(p.Access, PersonAccess), orWord(p.ID, "this person"))
						}
					},
				})
				if p.ID == AnonymousID {
					w.at(pos, "a person may not have the id %q: the audit log calls so whoever no token, session or link vouched for; choose another id", p.ID)
				} else if d.checkID(n, p.ID, pos, "person", d.personPos) {
					if p.Name == "" {
						p.Name = p.ID
					}
					d.dir.People = append(d.dir.People, p)
				}
			}
		},
		"teams": func(_, v *yaml.Node) {
			seen := map[string]Pos{}
			for _, n := range w.seq(v, "teams") {
				var t Team
				var pos Pos
				w.mapping(n, "a team", map[string]field{
					"id":   func(_, v *yaml.Node) { t.ID, pos = w.str(v, "id"), posOf(v) },
					"name": func(_, v *yaml.Node) { t.Name = w.str(v, "name") },
					"members": func(_, v *yaml.Node) {
						for _, m := range w.strList(v, "members") {
							t.Members = append(t.Members, m.Value)
							teamMembers = append(teamMembers, m)
						}
					},
				})
				if d.checkID(n, t.ID, pos, "team", seen) {
					if len(t.Members) == 0 {
						w.at(posOf(n), "team %q has no members", t.ID)
					}
					d.dir.Teams = append(d.dir.Teams, t)
				}
			}
		},
		"channels": func(_, v *yaml.Node) {
			seen := map[string]Pos{}
			for _, n := range w.seq(v, "channels") {
				if c, ok := d.channel(n, seen); ok {
					d.dir.Channels = append(d.dir.Channels, c)
				}
			}
		},
		"schedules": func(_, v *yaml.Node) {
			seen := map[string]Pos{}
			for _, n := range w.seq(v, "schedules") {
				if sch, ok := d.schedule(n, seen, &members); ok {
					d.dir.Schedules = append(d.dir.Schedules, sch)
				}
			}
		},
		"policies": func(_, v *yaml.Node) {
			seen := map[string]Pos{}
			for _, n := range w.seq(v, "policies") {
				if p, ok := d.policy(n, seen); ok {
					d.dir.Policies = append(d.dir.Policies, p)
				}
			}
		},
		"calendar": func(_, v *yaml.Node) { d.dir.Calendar, _ = d.calendar(v, false) },
		"calendars": func(_, v *yaml.Node) {
			seen := map[string]Pos{}
			for _, n := range w.seq(v, "calendars") {
				if c, pos := d.calendar(n, true); d.checkID(n, c.ID, pos, "calendar", seen) {
					d.dir.Calendars = append(d.dir.Calendars, *c)
				}
			}
		},
		"smtp": func(_, v *yaml.Node) { d.dir.SMTP = d.smtp(v) },
		"default_channel": func(_, v *yaml.Node) {
			defaultChannel = Located{w.str(v, "default_channel"), posOf(v)}
			d.dir.DefaultChannel = defaultChannel.Value
		},
	})

	people := d.dir.PersonIDs()
	for _, m := range teamMembers {
		if !slices.Contains(people, m.Value) {
			w.at(m.Pos, "unknown person %q in team members%s", m.Value, DidYouMean(m.Value, people))
		}
	}
	for _, m := range members {
		if !slices.Contains(people, m.Value) {
			w.at(m.Pos, "unknown person %q in a schedule%s", m.Value, DidYouMean(m.Value, people))
		}
	}
	for i := range d.dir.Policies {
		p := &d.dir.Policies[i]
		for l, targets := range d.levelTargets[p.ID] {
			for _, t := range targets {
				if tg, ok := d.levelTarget(t); ok {
					p.Levels[l].Targets = append(p.Levels[l].Targets, tg)
				}
			}
		}
	}
	for _, c := range append(pageVia, defaultChannel) {
		if c.Value != "" {
			d.channelRef(c)
		}
	}
	for _, c := range d.dir.Channels {
		if c.Type == "email" && d.dir.SMTP == nil {
			d.at(d.channelPos[c.ID], "email channel %q needs the directory's smtp settings: smtp: {server: host:587, from: incidents@example.com}", c.ID)
		}
	}
	return &d.dir
}

// checkID reports a missing, malformed or repeated id; it returns whether the item is usable.
func (d *directoryDecoder) checkID(n *yaml.Node, id string, pos Pos, what string, seen map[string]Pos) bool {
	switch {
	case id == "":
		d.at(posOf(n), "%s needs an id", what)
		return false
	case !idPattern.MatchString(id):
		d.at(pos, "%s id %q must be lower-case letters, digits, - and _, starting with a letter or digit", what, id)
		return false
	}
	if first, dup := seen[id]; dup {
		d.at(pos, "%s id %q is already used at line %d", what, id, first.Line)
		return false
	}
	seen[id] = pos
	return true
}

func (d *directoryDecoder) channelRef(c Located) {
	channels := ids(d.dir.Channels, func(c Channel) string { return c.ID })
	if !slices.Contains(channels, c.Value) {
		d.at(c.Pos, "unknown channel %q%s", c.Value, DidYouMean(c.Value, channels))
	}
}

func (d *directoryDecoder) channel(n *yaml.Node, seen map[string]Pos) (Channel, bool) {
	var c Channel
	var pos, typePos Pos
	keys := map[string]*yaml.Node{}
	d.mapping(n, "a channel", map[string]field{
		"id":   func(_, v *yaml.Node) { c.ID, pos = d.str(v, "id"), posOf(v) },
		"type": func(_, v *yaml.Node) { c.Type, typePos = d.str(v, "type"), posOf(v) },
		"url":  func(k, v *yaml.Node) { c.URL, keys[k.Value] = d.str(v, "url"), v },
		"to": func(k, v *yaml.Node) {
			keys[k.Value] = v
			for _, a := range d.strList(v, "to") {
				d.address(a)
				c.To = append(c.To, a.Value)
			}
		},
		"events_url":      func(k, v *yaml.Node) { c.EventsURL, keys[k.Value] = d.str(v, "events_url"), v },
		"url_env":         func(k, v *yaml.Node) { c.URLEnv, keys[k.Value] = d.envName(v), v },
		"secret_env":      func(k, v *yaml.Node) { c.SecretEnv, keys[k.Value] = d.envName(v), v },
		"webhook_url_env": func(k, v *yaml.Node) { c.WebhookURLEnv, keys[k.Value] = d.envName(v), v },
		"routing_key_env": func(k, v *yaml.Node) { c.RoutingKeyEnv, keys[k.Value] = d.envName(v), v },
		"personal":        func(k, v *yaml.Node) { c.Personal, keys[k.Value] = d.boolean(v, "personal"), v },
	})
	if !d.checkID(n, c.ID, pos, "channel", seen) {
		return c, false
	}
	d.channelPos[c.ID] = posOf(n)
	// Each type takes its own keys; a key of another type is a mistake worth naming.
	takes := map[string][]string{
		"console":   {},
		"webhook":   {"url", "url_env", "secret_env", "personal"},
		"email":     {"to"},
		"slack":     {"webhook_url_env"},
		"pagerduty": {"routing_key_env", "events_url"},
	}
	allowed, known := takes[c.Type]
	if known {
		for _, k := range slices.Sorted(maps.Keys(keys)) {
			if !slices.Contains(allowed, k) {
				d.at(posOf(keys[k]), "a %s channel takes no %s%s", c.Type, k, takesList(allowed))
			}
		}
	}
	switch c.Type {
	case "":
		d.at(posOf(n), "channel %q needs a type: one of %s", c.ID, strings.Join(ChannelTypes, ", "))
	case "webhook":
		switch {
		case c.URL == "" && c.URLEnv == "":
			d.at(posOf(n), "webhook channel %q needs url or url_env", c.ID)
		case c.URL != "" && c.URLEnv != "":
			d.at(posOf(n), "webhook channel %q has both url and url_env; give one", c.ID)
		case c.URL != "":
			d.absoluteURL(keys["url"], c.ID, "url", c.URL)
		}
		if c.SecretEnv == "" {
			d.warnAt(posOf(n), "webhook channel %q has no secret_env: its requests are not signed", c.ID)
		}
	case "slack":
		if c.WebhookURLEnv == "" {
			d.at(posOf(n), "slack channel %q needs webhook_url_env: the environment variable holding its incoming-webhook URL, which is a secret", c.ID)
		}
	case "pagerduty":
		if c.RoutingKeyEnv == "" {
			d.at(posOf(n), "pagerduty channel %q needs routing_key_env: the environment variable holding its Events API v2 routing key", c.ID)
		}
		if c.EventsURL != "" {
			d.absoluteURL(keys["events_url"], c.ID, "events_url", c.EventsURL)
		}
	case "email", "console":
	default:
		d.at(typePos, "unknown channel type %q%s (supported: %s)", c.Type, DidYouMean(c.Type, ChannelTypes), strings.Join(ChannelTypes, ", "))
	}
	return c, true
}

func takesList(keys []string) string {
	if len(keys) == 0 {
		return ""
	}
	return " (it takes " + strings.Join(keys, ", ") + ")"
}

func (d *directoryDecoder) absoluteURL(n *yaml.Node, id, key, raw string) {
	if !incidentflow.IsWebURL(raw) {
		d.at(posOf(n), "channel %q: %s %q must be an absolute http or https URL", id, key, raw)
	}
}

// address checks an e-mail address a channel sends to.
func (d *directoryDecoder) address(a Located) {
	if _, err := mail.ParseAddress(a.Value); err != nil {
		d.at(a.Pos, "%q is not an e-mail address: write it like legal@example.com", a.Value)
	}
}

func (d *directoryDecoder) smtp(n *yaml.Node) *SMTP {
	s := &SMTP{}
	d.mapping(n, "smtp", map[string]field{
		"server": func(_, v *yaml.Node) {
			s.Server = d.str(v, "smtp.server")
			if host, port, err := net.SplitHostPort(s.Server); err != nil || host == "" || port == "" {
				d.at(posOf(v), "smtp.server %q must be host:port, like smtp.example.com:587", s.Server)
			}
		},
		"from": func(_, v *yaml.Node) {
			s.From = d.str(v, "smtp.from")
			if _, err := mail.ParseAddress(s.From); err != nil {
				d.at(posOf(v), "smtp.from %q is not an e-mail address (like \"Incidents <incidents@example.com>\")", s.From)
			}
		},
		"username":     func(_, v *yaml.Node) { s.Username = d.str(v, "smtp.username") },
		"password_env": func(_, v *yaml.Node) { s.PasswordEnv = d.envName(v) },
		"starttls": func(_, v *yaml.Node) {
			s.StartTLS = d.str(v, "smtp.starttls")
			if !slices.Contains(StartTLSModes, s.StartTLS) {
				d.at(posOf(v), "smtp.starttls is one of %s, not %q%s", strings.Join(StartTLSModes, ", "), s.StartTLS, DidYouMean(s.StartTLS, StartTLSModes))
			}
		},
	})
	if s.Server == "" || s.From == "" {
		d.at(posOf(n), "smtp needs a server (host:port) and a from address")
	}
	if (s.Username == "") != (s.PasswordEnv == "") {
		d.at(posOf(n), "smtp needs both username and password_env to log in, or neither")
	}
	if s.StartTLS == "off" && s.Username != "" {
		d.at(posOf(n), "smtp would send its password unencrypted: with a username, starttls must be required or opportunistic")
	}
	return s
}

// rotation decodes {every, handoff, members}, collecting the members to check.
func (d *directoryDecoder) rotation(n *yaml.Node, members *[]Located) Rotation {
	var r Rotation
	d.mapping(n, "rotation", map[string]field{
		"every": func(_, v *yaml.Node) {
			dur, err := ParseDuration(d.str(v, "rotation.every"))
			switch {
			case err != nil:
				d.at(posOf(v), "rotation.every: %v", err)
			case !dur.IsFixed():
				d.at(posOf(v), "rotation.every is a fixed length of time (like 1w or 12h), not business days or months")
			default:
				r.Every = dur
			}
		},
		"handoff": func(_, v *yaml.Node) {
			r.Handoff = d.str(v, "rotation.handoff")
			d.localTime(v, r.Handoff)
		},
		"members": func(_, v *yaml.Node) {
			for _, m := range d.strList(v, "rotation.members") {
				r.Members = append(r.Members, m.Value)
				*members = append(*members, m)
			}
		},
	})
	return r
}

func (d *directoryDecoder) schedule(n *yaml.Node, seen map[string]Pos, members *[]Located) (Schedule, bool) {
	var sch Schedule
	var pos Pos
	var rotation *yaml.Node
	d.mapping(n, "a schedule", map[string]field{
		"id":       func(_, v *yaml.Node) { sch.ID, pos = d.str(v, "id"), posOf(v) },
		"timezone": func(_, v *yaml.Node) { sch.Timezone = d.timezone(v) },
		"rotation": func(_, v *yaml.Node) {
			rotation = v
			sch.Rotation = d.rotation(v, members)
		},
		"layers": func(_, v *yaml.Node) {
			for _, ln := range d.seq(v, "layers") {
				var l Layer
				var lrot *yaml.Node
				d.mapping(ln, "a layer", map[string]field{
					"rotation": func(_, v *yaml.Node) { lrot, l.Rotation = v, d.rotation(v, members) },
					"days":     func(_, v *yaml.Node) { l.Days = d.weekdays(v, "days") },
					"hours": func(_, v *yaml.Node) {
						raw := d.str(v, "hours")
						if start, end, ok := clockRange(raw); ok && !start.Equal(end) {
							l.From, l.To = start.Format(ClockLayout), end.Format(ClockLayout)
						} else {
							d.at(posOf(v), "hours %q must be two different times of day, like \"09:00-17:00\" or \"18:00-09:00\" (past midnight)", raw)
						}
					},
				})
				if lrot == nil {
					d.at(posOf(ln), "a layer needs a rotation: {every, handoff, members}")
				} else if l.Rotation.Every.Fixed == 0 || l.Rotation.Handoff == "" || len(l.Rotation.Members) == 0 {
					d.at(posOf(lrot), "a layer's rotation needs every, handoff and members")
				}
				sch.Layers = append(sch.Layers, l)
			}
		},
		"overrides": func(_, v *yaml.Node) {
			for _, o := range d.seq(v, "overrides") {
				var ov Override
				toPos := posOf(o)
				d.mapping(o, "an override", map[string]field{
					"person": func(_, v *yaml.Node) {
						ov.Person = d.str(v, "person")
						*members = append(*members, Located{ov.Person, posOf(v)})
					},
					"from": func(_, v *yaml.Node) { ov.From = d.str(v, "from"); d.localTime(v, ov.From) },
					"to":   func(_, v *yaml.Node) { ov.To, toPos = d.str(v, "to"), posOf(v); d.localTime(v, ov.To) },
				})
				if ov.Person == "" || ov.From == "" || ov.To == "" {
					d.at(posOf(o), "an override needs person, from and to")
				} else if ov.To <= ov.From {
					d.at(toPos, "the override of %s ends (%s) before it starts (%s): to must be later than from", ov.Person, ov.To, ov.From)
				}
				sch.Overrides = append(sch.Overrides, ov)
			}
		},
	})
	if !d.checkID(n, sch.ID, pos, "schedule", seen) {
		return sch, false
	}
	switch {
	case rotation == nil:
		d.at(posOf(n), "schedule %q needs a rotation: {every, handoff, members}", sch.ID)
	case sch.Rotation.Every.Fixed == 0 || sch.Rotation.Handoff == "" || len(sch.Rotation.Members) == 0:
		d.at(posOf(rotation), "schedule %q: a rotation needs every, handoff and members", sch.ID)
	}
	return sch, true
}

// localTime checks a schedule instant written YYYY-MM-DDTHH:MM.
func (d *directoryDecoder) localTime(n *yaml.Node, s string) {
	if _, err := time.Parse(LocalTimeLayout, s); s != "" && err != nil {
		d.at(posOf(n), "%q must be a date and a time of day in the schedule's time zone, written YYYY-MM-DDTHH:MM, like 2026-01-05T09:00 (the first hand-off, a Monday at 09:00)", s)
	}
}

func (d *directoryDecoder) policy(n *yaml.Node, seen map[string]Pos) (Policy, bool) {
	var p Policy
	var pos Pos
	var raw [][]Located
	d.mapping(n, "a policy", map[string]field{
		"id": func(_, v *yaml.Node) { p.ID, pos = d.str(v, "id"), posOf(v) },
		"repeat": func(_, v *yaml.Node) {
			r, err := strconv.Atoi(v.Value)
			if v.Tag != "!!int" || err != nil || r < 0 || r > 100 {
				d.at(posOf(v), "repeat is how many more times all levels run: a whole number from 0 to 100")
				return
			}
			p.Repeat = r
		},
		"levels": func(_, v *yaml.Node) {
			for _, ln := range d.seq(v, "levels") {
				var l Level
				var targets []Located
				d.mapping(ln, "a level", map[string]field{
					"targets": func(_, v *yaml.Node) { targets = d.strList(v, "targets") },
					"ack_within": func(_, v *yaml.Node) {
						dur, err := ParseDuration(d.str(v, "ack_within"))
						switch {
						case err != nil:
							d.at(posOf(v), "ack_within: %v", err)
						case !dur.IsFixed():
							d.at(posOf(v), "ack_within is a fixed length of time (like 5m), not business days or months")
						default:
							l.AckWithin = dur
						}
					},
				})
				if len(targets) == 0 || l.AckWithin.Fixed == 0 {
					d.at(posOf(ln), "a level needs targets and ack_within")
				}
				p.Levels = append(p.Levels, l)
				raw = append(raw, targets)
			}
		},
	})
	if !d.checkID(n, p.ID, pos, "policy", seen) {
		return p, false
	}
	d.levelTargets[p.ID] = raw
	if len(p.Levels) == 0 {
		d.at(posOf(n), "policy %q needs at least one level", p.ID)
	}
	return p, true
}

// levelTarget resolves a policy level's target: schedule:, person: or team:.
func (d *directoryDecoder) levelTarget(t Located) (Target, bool) {
	kind, id, ok := strings.Cut(t.Value, ":")
	var known []string
	switch kind {
	case "schedule":
		known = ids(d.dir.Schedules, func(s Schedule) string { return s.ID })
	case "person":
		known = d.dir.PersonIDs()
	case "team":
		known = ids(d.dir.Teams, func(t Team) string { return t.ID })
	default:
		ok = false
	}
	if !ok {
		d.at(t.Pos, "a policy level pages schedule:ID, person:ID or team:ID, not %q", t.Value)
		return Target{}, false
	}
	if !slices.Contains(known, id) {
		d.at(t.Pos, "unknown %s %q%s", kind, id, DidYouMean(id, known))
		return Target{}, false
	}
	return Target{Kind: kind, ID: id}, true
}

// calendar decodes the directory's calendar or, when named, one of its
// further calendars, which carries an id.
func (d *directoryDecoder) calendar(n *yaml.Node, named bool) (c *Calendar, idPos Pos) {
	c = &Calendar{}
	what := "the calendar"
	fields := map[string]field{
		"timezone": func(_, v *yaml.Node) { c.Timezone = d.timezone(v) },
		"weekend": func(_, v *yaml.Node) {
			// Written but empty means no weekend at all, unlike not written.
			c.Weekend = append([]time.Weekday{}, d.weekdays(v, "weekend")...)
		},
		"working_hours": func(_, v *yaml.Node) {
			raw := d.str(v, "working_hours")
			if start, end, ok := clockRange(raw); ok && end.After(start) {
				c.WorkStart, c.WorkEnd = start.Format(ClockLayout), end.Format(ClockLayout)
			} else {
				d.at(posOf(v), "working_hours %q must be two times of day, the start before the end, like \"09:00-17:00\"", raw)
			}
		},
		"holidays": func(_, v *yaml.Node) {
			for _, h := range d.strList(v, "holidays") {
				if _, err := time.Parse(time.DateOnly, h.Value); err != nil {
					d.at(h.Pos, "holiday %q must be a date written YYYY-MM-DD%s", h.Value, dateHint(h.Value))
					continue
				}
				c.Holidays = append(c.Holidays, h.Value)
			}
		},
	}
	if named {
		what = "a calendar"
		fields["id"] = func(_, v *yaml.Node) { c.ID, idPos = d.str(v, "id"), posOf(v) }
	}
	d.mapping(n, what, fields)
	if c.Weekend != nil && len(slices.Compact(slices.Sorted(slices.Values(c.Weekend)))) == 7 {
		d.at(posOf(n), "%s has every day of the week as its weekend, so it has no business days: list only the days off, like [saturday, sunday]", what)
	}
	return c, idPos
}

// dateHint suggests the YYYY-MM-DD form of a date written another way.
func dateHint(s string) string {
	for _, layout := range []string{"2 January 2006", "January 2 2006", "January 2, 2006", "2 Jan 2006", "Jan 2 2006", "Jan 2, 2006", "2006/01/02", "2006.01.02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return ", like " + t.Format(time.DateOnly)
		}
	}
	var a, b, y int
	if n, _ := fmt.Sscanf(strings.NewReplacer(".", "/", "-", "/").Replace(s), "%d/%d/%d", &a, &b, &y); n == 3 && y > 999 {
		ok := func(day, month int) bool {
			t := time.Date(y, time.Month(month), day, 0, 0, 0, 0, time.UTC)
			return month >= 1 && month <= 12 && t.Day() == day && t.Month() == time.Month(month)
		}
		dm, md := ok(a, b), ok(b, a)
		switch {
		case dm && md && a != b:
			return fmt.Sprintf(": %04d-%02d-%02d if you mean %d %s, %04d-%02d-%02d if you mean %d %s", y, b, a, a, time.Month(b), y, a, b, b, time.Month(a))
		case dm:
			return fmt.Sprintf(", like %04d-%02d-%02d", y, b, a)
		case md:
			return fmt.Sprintf(", like %04d-%02d-%02d", y, a, b)
		}
	}
	return ", like 2026-12-25"
}

// weekdays reads a list of weekday names, reporting the ones it does not know.
func (d *directoryDecoder) weekdays(n *yaml.Node, what string) []time.Weekday {
	var out []time.Weekday
	for _, day := range d.strList(n, what) {
		name := strings.ToLower(day.Value)
		wd, ok := weekdayNumbers[name]
		if i := slices.IndexFunc(weekdayNames, func(w string) bool { return len(name) >= 3 && strings.HasPrefix(w, name) }); !ok && i >= 0 {
			wd, ok = weekdayNumbers[weekdayNames[i]], true // sat, thu, thurs
		}
		if !ok {
			d.at(day.Pos, "unknown weekday %q%s", day.Value, DidYouMean(strings.ToLower(day.Value), weekdayNames))
			continue
		}
		out = append(out, wd)
	}
	return out
}

// clockRange reads "HH:MM-HH:MM" into its two times of day.
func clockRange(raw string) (start, end time.Time, ok bool) {
	from, to, _ := strings.Cut(raw, "-")
	start, err1 := time.Parse(ClockLayout, strings.TrimSpace(from))
	end, err2 := time.Parse(ClockLayout, strings.TrimSpace(to))
	return start, end, err1 == nil && err2 == nil
}

var weekdayNumbers = map[string]time.Weekday{
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
}

var weekdayNames = []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}

func (d *directoryDecoder) timezone(n *yaml.Node) string {
	tz := d.str(n, "timezone")
	if tz == "" {
		return ""
	}
	if _, err := LoadLocation(tz); err != nil {
		d.at(posOf(n), "%s", ZoneProblem(tz))
		return ""
	}
	if warning := ZoneWarning(tz); warning != "" {
		d.warnAt(posOf(n), "%s", warning)
	}
	return tz
}

func (d *directoryDecoder) email(n *yaml.Node) string {
	e := d.str(n, "email")
	if e != "" && (!strings.Contains(e, "@") || strings.ContainsAny(e, " <>,")) {
		d.at(posOf(n), "%q is not an e-mail address: write it like alice@example.com", e)
	}
	return e
}

var envPattern = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*$`)

func (d *directoryDecoder) envName(n *yaml.Node) string {
	s := d.str(n, "an environment variable name")
	if s != "" && !envPattern.MatchString(s) {
		d.at(posOf(n), "%q is not an environment variable name (upper-case letters, digits and _)", s)
	}
	return s
}
