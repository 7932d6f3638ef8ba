package dsl

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Directory is the organisation as processes see it: people, teams, delivery
// channels and the business calendar. It lives in directory.yaml beside the
// process files and is resolved when a step runs, so edits reach open incidents.
type Directory struct {
	People   []Person  `json:"people,omitempty"`
	Teams    []Team    `json:"teams,omitempty"`
	Channels []Channel `json:"channels,omitempty"`
	Calendar *Calendar `json:"calendar,omitempty"`
	// DefaultChannel reaches people who name no page_via channel of their own.
	DefaultChannel string `json:"default_channel,omitempty"`
}

// Person is someone who can be notified or paged.
type Person struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Email    string `json:"email,omitempty"`
	Timezone string `json:"timezone,omitempty"`
	PageVia  string `json:"page_via,omitempty"`
}

// Team is a named group of people.
type Team struct {
	ID      string   `json:"id"`
	Name    string   `json:"name,omitempty"`
	Members []string `json:"members"`
}

// ChannelTypes are the delivery mechanisms a channel may use.
var ChannelTypes = []string{"console", "webhook"}

// Channel is a delivery destination. Secrets are never written here: the
// channel names the environment variables that hold them.
type Channel struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	// webhook
	URL       string `json:"url,omitempty"`
	URLEnv    string `json:"url_env,omitempty"`
	SecretEnv string `json:"secret_env,omitempty"`
}

// Person returns the person with the given id.
func (d *Directory) Person(id string) (Person, bool) {
	i := slices.IndexFunc(d.People, func(p Person) bool { return p.ID == id })
	if i < 0 {
		return Person{}, false
	}
	return d.People[i], true
}

// Team returns the team with the given id.
func (d *Directory) Team(id string) (Team, bool) {
	i := slices.IndexFunc(d.Teams, func(t Team) bool { return t.ID == id })
	if i < 0 {
		return Team{}, false
	}
	return d.Teams[i], true
}

// Channel returns the channel with the given id.
func (d *Directory) Channel(id string) (Channel, bool) {
	i := slices.IndexFunc(d.Channels, func(c Channel) bool { return c.ID == id })
	if i < 0 {
		return Channel{}, false
	}
	return d.Channels[i], true
}

// ChannelFor returns the id of the channel that reaches person p.
func (d *Directory) ChannelFor(p Person) string {
	if p.PageVia != "" {
		return p.PageVia
	}
	return d.DefaultChannel
}

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
}

func decodeDirectory(w walker, root *yaml.Node) *Directory {
	d := &directoryDecoder{walker: w, personPos: map[string]Pos{}}
	var teamMembers []Located
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
				})
				if d.checkID(n, p.ID, pos, "person", d.personPos) {
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
		"calendar": func(_, v *yaml.Node) { d.dir.Calendar = d.calendar(v) },
		"default_channel": func(_, v *yaml.Node) {
			defaultChannel = Located{w.str(v, "default_channel"), posOf(v)}
			d.dir.DefaultChannel = defaultChannel.Value
		},
	})

	people := ids(d.dir.People, func(p Person) string { return p.ID })
	for _, m := range teamMembers {
		if !slices.Contains(people, m.Value) {
			w.at(m.Pos, "unknown person %q in team members%s", m.Value, DidYouMean(m.Value, people))
		}
	}
	for _, c := range append(pageVia, defaultChannel) {
		if c.Value != "" {
			d.channelRef(c)
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
	var urlNode *yaml.Node
	d.mapping(n, "a channel", map[string]field{
		"id":         func(_, v *yaml.Node) { c.ID, pos = d.str(v, "id"), posOf(v) },
		"type":       func(_, v *yaml.Node) { c.Type, typePos = d.str(v, "type"), posOf(v) },
		"url":        func(_, v *yaml.Node) { c.URL, urlNode = d.str(v, "url"), v },
		"url_env":    func(_, v *yaml.Node) { c.URLEnv = d.envName(v) },
		"secret_env": func(_, v *yaml.Node) { c.SecretEnv = d.envName(v) },
	})
	if !d.checkID(n, c.ID, pos, "channel", seen) {
		return c, false
	}
	switch c.Type {
	case "":
		d.at(posOf(n), "channel %q needs a type: one of %s", c.ID, strings.Join(ChannelTypes, ", "))
	case "console":
		if c.URL != "" || c.URLEnv != "" || c.SecretEnv != "" {
			d.at(posOf(n), "console channel %q takes no url, url_env or secret_env", c.ID)
		}
	case "webhook":
		switch {
		case c.URL == "" && c.URLEnv == "":
			d.at(posOf(n), "webhook channel %q needs url or url_env", c.ID)
		case c.URL != "" && c.URLEnv != "":
			d.at(posOf(n), "webhook channel %q has both url and url_env; give one", c.ID)
		case c.URL != "":
			if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				d.at(posOf(urlNode), "webhook channel %q: url %q must be an absolute http or https URL", c.ID, c.URL)
			}
		}
		if c.SecretEnv == "" {
			d.warnAt(posOf(n), "webhook channel %q has no secret_env: its requests are not signed", c.ID)
		}
	default:
		d.at(typePos, "unknown channel type %q%s (supported: %s)", c.Type, DidYouMean(c.Type, ChannelTypes), strings.Join(ChannelTypes, ", "))
	}
	return c, true
}

func (d *directoryDecoder) calendar(n *yaml.Node) *Calendar {
	c := &Calendar{}
	d.mapping(n, "the calendar", map[string]field{
		"timezone": func(_, v *yaml.Node) { c.Timezone = d.timezone(v) },
		"weekend": func(_, v *yaml.Node) {
			c.Weekend = []time.Weekday{}
			for _, day := range d.strList(v, "weekend") {
				wd, ok := weekdays[strings.ToLower(day.Value)]
				if !ok {
					d.at(day.Pos, "unknown weekday %q%s", day.Value, DidYouMean(strings.ToLower(day.Value), weekdayNames))
					continue
				}
				c.Weekend = append(c.Weekend, wd)
			}
		},
		"holidays": func(_, v *yaml.Node) {
			for _, h := range d.strList(v, "holidays") {
				if _, err := time.Parse(time.DateOnly, h.Value); err != nil {
					d.at(h.Pos, "holiday %q must be a date written YYYY-MM-DD", h.Value)
					continue
				}
				c.Holidays = append(c.Holidays, h.Value)
			}
		},
	})
	return c
}

var weekdays = map[string]time.Weekday{
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
}

var weekdayNames = []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}

func (d *directoryDecoder) timezone(n *yaml.Node) string {
	tz := d.str(n, "timezone")
	if tz == "" {
		return ""
	}
	if _, err := time.LoadLocation(tz); err != nil {
		d.at(posOf(n), "unknown time zone %q: use an IANA name such as Europe/London", tz)
		return ""
	}
	return tz
}

func (d *directoryDecoder) email(n *yaml.Node) string {
	e := d.str(n, "email")
	if e != "" && (!strings.Contains(e, "@") || strings.ContainsAny(e, " <>,")) {
		d.at(posOf(n), "%q is not an e-mail address", e)
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
