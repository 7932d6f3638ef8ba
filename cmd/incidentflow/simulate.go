package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/simulation"
)

// repeated collects a flag given several times.
type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, " ") }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }

var _ flag.Value = (*repeated)(nil)

// simulate runs a process in simulated time and prints the timeline.
func (e environment) simulate(args []string) error {
	f := e.flags("simulate", "Runs a process in simulated time and prints the timeline a responder would live through:\n"+
		"pages, notifications, reminders, deadlines and tasks, with their times in the calendar's zone.\n"+
		"PROCESS is a built-in type (privacy) or a file (directory.yaml beside it is the directory).\n\n"+
		"  incidentflow simulate privacy --severity high --field aware_at=2026-12-23T16:00 --signal regulator_notified@30h --resolve-after 3d")
	var severity, at, ackAfter, resolveAfter, span, approveAfter, tasksAfter string
	var fields, sets, signals, assigns repeated
	var noReviews bool
	f.fs.StringVar(&severity, "severity", "", "the incident's severity (default: the most severe)")
	f.fs.StringVar(&at, "at", "", "when it is declared, YYYY-MM-DDTHH:MM in the calendar's zone, or RFC 3339 (default: now)")
	f.fs.Var(&fields, "field", "NAME=VALUE, repeatable; times as --at")
	f.fs.Var(&sets, "set", "NAME=VALUE@DURATION: someone changes the field this long after the declaration, repeatable; values as --field")
	f.fs.StringVar(&ackAfter, "ack-after", "", "someone acknowledges this long after the declaration")
	f.fs.Var(&signals, "signal", "NAME@DURATION: the signal arrives this long after the declaration, repeatable")
	f.fs.StringVar(&resolveAfter, "resolve-after", "", "the incident is resolved this long after the declaration")
	f.fs.StringVar(&span, "for", "60d", "how long to simulate before closing the incident")
	f.fs.Var(&assigns, "assign", "ROLE=PERSON@DURATION: the person takes the role this long after the declaration, repeatable")
	f.fs.StringVar(&approveAfter, "approve-after", "", "each approval is given by its role's holder this long after it starts waiting")
	f.fs.StringVar(&tasksAfter, "tasks-done-after", "", "each follow-up is done by its owner this long after it is created")
	f.fs.BoolVar(&noReviews, "no-reviews", false, "reviews are never marked held (by default each is held when its meeting ends)")
	// Flags may follow the process name, as the help shows.
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		args = append(args[1:], args[0])
	}
	if err := f.parse(args); err != nil {
		return err
	}
	if f.fs.NArg() != 1 {
		fmt.Fprintln(e.stderr, "incidentflow simulate needs one PROCESS (a built-in type or a file)")
		return exitCode(2)
	}
	p, hash, dir, err := e.loadOne(f.fs.Arg(0))
	if err != nil {
		return err
	}
	loc := dir.Calendar.Location()
	o := simulation.Options{Process: p, Hash: hash, Directory: dir, Severity: severity, Fields: map[string]any{}}
	if o.Severity == "" {
		o.Severity = p.Severities[0]
	}
	o.DeclaredAt = time.Now().In(loc).Truncate(time.Minute)
	if at != "" {
		if o.DeclaredAt, err = parseWhen(at, loc); err != nil {
			f.problem("--at: %v", err)
		}
	}
	after := func(flagName, v string) time.Time {
		d, err := dsl.ParseDuration(v)
		if err != nil {
			f.problem("--%s: %v", flagName, err)
		}
		return d.After(o.DeclaredAt, dir.Calendar)
	}
	for _, kv := range fields {
		name, val, ok := strings.Cut(kv, "=")
		def, known := p.Field(name)
		switch {
		case !ok:
			f.problem("--field %q must be NAME=VALUE", kv)
		case !known:
			f.problem("--field %s: %s incidents have no such field", name, p.Type)
		default:
			o.Fields[name] = fieldValue(def, val, loc)
		}
	}
	// Each event is kept with the flag that asked for it, to name one that
	// falls after the simulated span and so would never happen.
	var asked []string
	add := func(flag string, e simulation.Event) {
		o.Events, asked = append(o.Events, e), append(asked, flag)
	}
	for _, set := range sets {
		if name, v, when, ok := f.fieldChange(p, set, loc); ok {
			add("--set "+set, simulation.Event{At: after("set "+set, when), Signal: "set:" + name, Fields: map[string]any{name: v}})
		}
	}
	if ackAfter != "" {
		add("--ack-after "+ackAfter, simulation.Event{At: after("ack-after", ackAfter), Signal: "acknowledge"})
	}
	for _, s := range signals {
		name, when, ok := strings.Cut(s, "@")
		if !ok || !slices.Contains(p.Signals, name) {
			f.problem("--signal %q must be NAME@DURATION with NAME one of %s", s, strings.Join(p.Signals, ", "))
			continue
		}
		add("--signal "+s, simulation.Event{At: after("signal", when), Signal: name})
	}
	for _, a := range assigns {
		kv, when, ok := strings.Cut(a, "@")
		role, person, ok2 := strings.Cut(kv, "=")
		if !ok || !ok2 || !slices.Contains(p.Roles, role) {
			f.problem("--assign %q must be ROLE=PERSON@DURATION with ROLE one of %s", a, strings.Join(p.Roles, ", "))
			continue
		}
		if _, known := dir.Person(person); !known {
			f.problem("--assign %q: %q is not in the directory", a, person)
			continue
		}
		add("--assign "+a, simulation.Event{At: after("assign", when), Signal: "assign:" + kv})
	}
	fixed := func(flagName, v string) time.Duration {
		if v == "" {
			return 0
		}
		d, err := dsl.ParseDuration(v)
		if err != nil || !d.IsFixed() || d.Fixed <= 0 {
			f.problem("--%s %q must be a fixed duration such as 2h or 1d", flagName, v)
		}
		return d.Fixed
	}
	o.Responders = simulation.Responders{ApproveAfter: fixed("approve-after", approveAfter),
		TasksDoneAfter: fixed("tasks-done-after", tasksAfter), HoldReviews: !noReviews}
	if resolveAfter != "" {
		add("--resolve-after "+resolveAfter, simulation.Event{At: after("resolve-after", resolveAfter), Signal: "resolve"})
	}
	o.Until = after("for", span)
	for i, e := range o.Events {
		if e.At.After(o.Until) {
			f.problem("%s comes after the simulated span (--for %s), so it would never happen: simulate longer, or make it sooner", asked[i], span)
		}
	}
	if err := f.check(); err != nil {
		return err
	}
	slices.SortStableFunc(o.Events, func(a, b simulation.Event) int { return a.At.Compare(b.At) })
	lines, err := simulation.Run(o)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Simulating %s (%s), declared %s\n\n", p.Title, o.Severity, o.DeclaredAt.Format("Mon 2 Jan 2006 15:04 MST"))
	for _, l := range lines {
		since := l.At.Sub(o.DeclaredAt).Round(time.Minute)
		fmt.Fprintf(e.stdout, "%s  %+9s  %-18s %s\n", l.At.In(loc).Format("Mon 02 Jan 15:04 MST"), fmtSince(since), l.Kind, l.Text)
	}
	return nil
}

// loadOne returns the process named by arg (a built-in type or a file), its
// hash and the directory it is validated against. A file runs when it and
// the directory are valid; what is wrong with the other files beside it is
// printed as warnings.
func (e environment) loadOne(arg string) (*dsl.Process, string, *dsl.Directory, error) {
	if !strings.ContainsRune(arg, os.PathSeparator) && !strings.HasSuffix(arg, ".yaml") && !strings.HasSuffix(arg, ".yml") {
		cat, err := e.catalog("")
		if err != nil {
			return nil, "", nil, err
		}
		if p, ok := cat.Processes[arg]; ok {
			return p, cat.Sources[arg].Hash, cat.Directory, nil
		}
		return nil, "", nil, fmt.Errorf("no process %q: the processes are %s", arg, strings.Join(cat.Types(), ", "))
	}
	cat, err := e.catalog(arg)
	if err != nil {
		return nil, "", nil, err
	}
	if len(cat.Processes) != 1 {
		return nil, "", nil, fmt.Errorf("%s is not one process file", arg)
	}
	folder := filepath.Dir(arg)
	var others dsl.Problems
	if _, err := dsl.Load(os.DirFS(folder), folder); errors.As(err, &others) {
		for _, p := range others.Errors() {
			fmt.Fprintf(e.stderr, "warning: %s\n", p)
		}
	}
	t := cat.Types()[0]
	return cat.Processes[t], cat.Sources[t].Hash, cat.Directory, nil
}

// parseWhen reads a local time in loc, or RFC 3339.
func parseWhen(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.ParseInLocation(dsl.LocalTimeLayout, s, loc); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return t, fmt.Errorf("%q is neither YYYY-MM-DDTHH:MM nor RFC 3339", s)
	}
	return t, nil
}

// fieldChange reads --set NAME=VALUE@DURATION: the field, its value checked
// as a change of it is, and when. A problem is reported on f.
func (f *flags) fieldChange(p *dsl.Process, set string, loc *time.Location) (name string, v any, when string, ok bool) {
	at := strings.LastIndex(set, "@")
	name, val, hasValue := strings.Cut(set[:max(at, 0)], "=")
	if at < 0 || !hasValue || name == "" {
		f.problem("--set %q must be NAME=VALUE@DURATION, like customers_affected=120@2h", set)
		return "", nil, "", false
	}
	def, known := p.Field(name)
	if !known {
		f.problem("--set %s: %s incidents have no such field (their fields are %s)%s", name, p.Type, strings.Join(fieldNames(p), ", "), dsl.DidYouMean(name, fieldNames(p)))
		return "", nil, "", false
	}
	v, err := dsl.NormalizeField(def, fieldValue(def, val, loc))
	if err != nil {
		f.problem("--set %s: the value %s", set, err)
		return "", nil, "", false
	}
	return name, v, set[at+1:], true
}

func fieldNames(p *dsl.Process) []string {
	names := make([]string, len(p.Fields))
	for i, def := range p.Fields {
		names[i] = def.Name
	}
	return names
}

// fieldValue turns a command-line value into what a JSON declaration would send.
func fieldValue(def dsl.FieldDef, v string, loc *time.Location) any {
	switch def.Type {
	case "bool":
		if b, err := strconv.ParseBool(v); err == nil {
			return b
		}
	case "int", "number":
		if n, err := strconv.ParseFloat(v, 64); err == nil {
			return n
		}
	case "time":
		if t, err := parseWhen(v, loc); err == nil {
			return t.UTC().Format(time.RFC3339)
		}
	case "list":
		return strings.Split(v, ",")
	}
	return v // the declaration's check says what is wrong with it
}

func fmtSince(d time.Duration) string {
	sign := "+"
	if d < 0 {
		sign, d = "-", -d
	}
	days, hours, mins := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	if days > 0 {
		return fmt.Sprintf("%s%dd%02dh%02d", sign, days, hours, mins)
	}
	return fmt.Sprintf("%s%dh%02d", sign, hours, mins)
}
