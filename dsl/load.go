package dsl

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// DirectoryFile is the name of the org directory beside the process files.
const DirectoryFile = "directory.yaml"

// Catalog is a validated set of processes and the directory they refer to.
type Catalog struct {
	Processes map[string]*Process // by type
	Sources   map[string]Source   // by type
	Directory *Directory
	// Warnings are problems that do not stop the catalog from being used.
	Warnings Problems
}

// Source is the file a process was read from, and the hash that identifies this
// version of it: an incident records the hash of the process it runs.
type Source struct {
	File string `json:"file"`
	YAML []byte `json:"-"`
	Hash string `json:"hash"`
}

// Types returns the process types in alphabetical order.
func (c *Catalog) Types() []string {
	out := make([]string, 0, len(c.Processes))
	for t := range c.Processes {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// Hash identifies a version of a process file by its content.
func Hash(yamlText []byte) string {
	sum := sha256.Sum256(yamlText)
	return hex.EncodeToString(sum[:])
}

// Load reads directory.yaml and every other *.yaml or *.yml file at the top of
// fsys as processes, and validates them together. File names in problems are
// joined to prefix. The error, if any, is Problems listing every mistake.
func Load(fsys fs.FS, prefix string) (*Catalog, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read process directory %s: %w", prefix, err)
	}
	var names []string
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() && name != DirectoryFile && (strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")) {
			names = append(names, name)
		}
	}
	return load(fsys, prefix, names)
}

// LoadFile reads the one process file name at the top of fsys and the
// directory.yaml beside it, if there is one, and validates them as Load
// does; the other files there are not read.
func LoadFile(fsys fs.FS, prefix, name string) (*Catalog, error) {
	return load(fsys, prefix, []string{name})
}

// namesTheDirectory says a problem is a name the directory would define.
func namesTheDirectory(p Problem) bool {
	for _, kind := range []string{"channel", "person", "team", "schedule"} {
		if strings.Contains(p.Message, "unknown "+kind+" ") {
			return true
		}
	}
	return false
}

// load validates the named process files of fsys against its directory.
func load(fsys fs.FS, prefix string, names []string) (*Catalog, error) {
	var problems Problems
	dir := &Directory{}
	data, err := fs.ReadFile(fsys, DirectoryFile)
	switch {
	case err == nil:
		dir = ParseDirectory(path.Join(prefix, DirectoryFile), data, &problems)
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("read %s: %w", path.Join(prefix, DirectoryFile), err)
	}
	noDirectory := err != nil
	cat := &Catalog{Processes: map[string]*Process{}, Sources: map[string]Source{}, Directory: dir}
	declared := map[string]string{} // type → file:line:col of its first declaration
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path.Join(prefix, name), err)
		}
		file := path.Join(prefix, name)
		p, typePos := parseProcess(file, data, dir, &problems)
		if p == nil || p.Type == "" {
			continue
		}
		if first, dup := declared[p.Type]; dup {
			problems = append(problems, Problem{File: file, Line: typePos.Line, Col: typePos.Col,
				Message: fmt.Sprintf("process type %q is already declared at %s", p.Type, first)})
			continue
		}
		declared[p.Type] = fmt.Sprintf("%s:%d:%d", file, typePos.Line, typePos.Col)
		markApprovalLinks(p.Steps)
		for i := range p.Handlers {
			markApprovalLinks(p.Handlers[i].Steps)
		}
		cat.Processes[p.Type] = p
		cat.Sources[p.Type] = Source{File: file, YAML: data, Hash: Hash(data)}
	}
	if noDirectory && slices.ContainsFunc(problems, namesTheDirectory) {
		// What the processes name of people, teams, channels and schedules
		// is unknown without it: say so, lest the author hunt for typos.
		problems = append(problems, Problem{File: path.Join(prefix, DirectoryFile),
			Message: "there is no such file beside the process files: the people, teams, channels and schedules they name are defined there"})
	}
	problems.sort()
	if errs := problems.Errors(); len(errs) > 0 {
		return nil, problems
	}
	if len(cat.Processes) == 0 {
		return nil, Problems{{File: prefix, Message: "no process files (*.yaml) found"}}
	}
	cat.Warnings = problems
	return cat, nil
}

// ParseProcess reads and validates one process file against a directory. It
// returns the process only when there is no error; warnings come back with it.
func ParseProcess(file string, data []byte, dir *Directory) (*Process, Problems) {
	var problems Problems
	p, _ := parseProcess(file, data, dir, &problems)
	problems.sort()
	if len(problems.Errors()) > 0 {
		return nil, problems
	}
	return p, problems
}

// ParseDirectory reads an org directory, appending its problems.
func ParseDirectory(file string, data []byte, problems *Problems) *Directory {
	w := newWalker(file, data, problems)
	root := parseYAML(w, data)
	if root == nil {
		return &Directory{}
	}
	return decodeDirectory(w, root)
}

var yamlErrLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseYAML returns the document's root node, or nil after reporting why not.
func parseYAML(w walker, data []byte) *yaml.Node {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			w.at(Pos{1, 1}, "the file is empty")
			return nil
		}
		// Our own reading of the lines finds each mistake where it is;
		// yaml.v3's message is the fallback.
		if found := diagnoseSyntax(w.lines); len(found) > 0 {
			for _, f := range found {
				w.at(f.pos, "%s", f.msg)
			}
			return nil
		}
		msg := err.Error()
		pos := Pos{Line: 1, Col: 1}
		if m := yamlErrLine.FindStringSubmatch(msg); m != nil {
			pos.Line, _ = strconv.Atoi(m[1])
			msg = m[2]
			// yaml.v3 counts lines from 0 for parser errors (all "did not
			// find expected ...") and from 1 for scanner errors.
			if strings.HasPrefix(msg, "did not find expected") {
				pos.Line++
			}
			if pos.Line <= len(w.lines) {
				line := w.lines[pos.Line-1]
				pos.Col = len([]rune(line)) - len([]rune(strings.TrimLeft(line, " "))) + 1
			}
		}
		w.at(pos, "%s", translateYAMLError(msg))
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		w.at(w.secondDocument(), "a file holds one process (or the directory): remove this --- and what follows it, or move that into a file of its own")
	}
	if len(doc.Content) == 0 {
		w.at(Pos{1, 1}, "the file is empty")
		return nil
	}
	return doc.Content[0]
}

// processDecoder decodes and validates one process file.
type processDecoder struct {
	walker
	p     *Process
	dir   *Directory
	conds *Conditions
	ids   map[string]Pos
	// inHandler is set while on: handlers are decoded; handlerIDs are the
	// step ids declared in them.
	inHandler  bool
	handlerIDs map[string]bool
	// checks run after the whole file is decoded, when fields and step ids are known.
	checks []func()
}

func parseProcess(file string, data []byte, dir *Directory, problems *Problems) (*Process, Pos) {
	w := newWalker(file, data, problems)
	root := parseYAML(w, data)
	if root == nil {
		return nil, Pos{}
	}
	d := &processDecoder{walker: w, p: &Process{InitialStatus: DefaultInitialStatus}, dir: dir, ids: map[string]Pos{}, handlerIDs: map[string]bool{}}
	var typePos Pos
	seen := map[string]bool{}
	ok := w.mapping(root, "a process", map[string]field{
		"process": func(_, v *yaml.Node) {
			d.p.Type, typePos = w.str(v, "process"), posOf(v)
			if d.p.Type != "" && !idPattern.MatchString(d.p.Type) {
				w.at(typePos, "process type %q must be lower-case letters, digits, - and _", d.p.Type)
			}
			seen["process"] = true
		},
		"title":       func(_, v *yaml.Node) { d.p.Title, seen["title"] = w.str(v, "title"), true },
		"description": func(_, v *yaml.Node) { d.p.Description = w.str(v, "description") },
		"severities":  func(_, v *yaml.Node) { d.severities(v); seen["severities"] = true },
		"initial_status": func(_, v *yaml.Node) {
			s := w.str(v, "initial_status")
			if s != "" && !IsStatus(s) {
				w.at(posOf(v), "unknown status %q%s (statuses: %s)", s, DidYouMean(s, Statuses), strings.Join(Statuses, ", "))
			} else if IsFinalStatus(s) || s == "resolved" {
				w.at(posOf(v), "an incident cannot start %s", s)
			} else if s != "" {
				d.p.InitialStatus = s
			}
		},
		"fields":     func(_, v *yaml.Node) { d.fields(v) },
		"roles":      func(_, v *yaml.Node) { d.roles(v) },
		"signals":    func(_, v *yaml.Node) { d.signals(v) },
		"on":         func(_, v *yaml.Node) { d.handlers(v) },
		"visibility": func(_, v *yaml.Node) { d.visibility(v) },
		"steps": func(_, v *yaml.Node) {
			seen["steps"] = true
			d.p.Steps = d.steps(v, "steps")
			if v.Kind == yaml.SequenceNode && len(v.Content) == 0 {
				w.at(posOf(v), "a process needs at least one step")
			}
		},
	})
	if !ok {
		return nil, Pos{}
	}
	for _, k := range []string{"process", "title", "severities", "steps"} {
		if !seen[k] {
			w.at(posOf(root), "a process needs %q", k)
		}
	}
	if len(d.p.Severities) == 0 {
		return d.p, typePos
	}
	conds, err := NewConditions(d.p)
	if err != nil {
		w.at(posOf(root), "%v", err)
		return d.p, typePos
	}
	d.conds = conds
	for _, check := range d.checks {
		check()
	}
	return d.p, typePos
}

// visibility decodes visibility: {restricted: BOOL, viewers: [TARGETS]}.
// Viewers are people, teams, and roles of the incident (whoever holds one).
func (d *processDecoder) visibility(n *yaml.Node) {
	v := &Visibility{}
	var viewersNode *yaml.Node
	d.mapping(n, "visibility", map[string]field{
		"restricted": func(_, val *yaml.Node) { v.Restricted = d.boolean(val, "visibility.restricted") },
		"viewers": func(_, val *yaml.Node) {
			viewersNode = val
			for _, t := range d.strList(val, "visibility.viewers") {
				tg, ok := d.target(t)
				switch {
				case !ok:
				case tg.Kind != "person" && tg.Kind != "team" && tg.Kind != "role":
					d.at(t.Pos, "visibility.viewers names people (person:ID), teams (team:ID) or roles of the incident (role:NAME), not %s", t.Value)
				default:
					v.Viewers = append(v.Viewers, tg)
				}
			}
		},
	})
	if viewersNode != nil && !v.Restricted {
		d.at(posOf(viewersNode), "viewers only matter when the process is restricted: add restricted: true, or remove the viewers (everyone sees an unrestricted incident)")
	}
	d.p.Visibility = v
}

func (d *processDecoder) severities(n *yaml.Node) {
	for _, s := range d.strList(n, "severities") {
		switch {
		case !namePattern.MatchString(s.Value):
			d.at(s.Pos, "severity %q must be lower-case letters, digits and _", s.Value)
		case slices.Contains(d.p.Severities, s.Value):
			d.at(s.Pos, "severity %q is listed twice", s.Value)
		default:
			d.p.Severities = append(d.p.Severities, s.Value)
		}
	}
	if len(d.p.Severities) == 0 && n.Kind == yaml.SequenceNode {
		d.at(posOf(n), "severities must list at least one severity, most severe first")
	}
}

func (d *processDecoder) fields(n *yaml.Node) {
	if n.Kind != yaml.MappingNode {
		d.at(posOf(n), "fields must map each field name to its declaration, not %s", describe(n))
		return
	}
	for _, k := range keys(n) {
		v := n.Content[slices.Index(n.Content, k)+1]
		if !namePattern.MatchString(k.Value) {
			d.at(posOf(k), "field name %q must be lower-case letters, digits and _, starting with a letter", k.Value)
			continue
		}
		if _, dup := d.p.Field(k.Value); dup {
			d.at(posOf(k), "field %q is declared twice", k.Value)
			continue
		}
		def := FieldDef{Name: k.Value}
		var typePos Pos
		var defaultNode *yaml.Node
		what := fmt.Sprintf("field %q", k.Value)
		d.mapping(v, what, map[string]field{
			"type":        func(_, v *yaml.Node) { def.Type, typePos = d.str(v, "type"), posOf(v) },
			"description": func(_, v *yaml.Node) { def.Description = d.str(v, "description") },
			"required":    func(_, v *yaml.Node) { def.Required = d.boolean(v, "required") },
			"values": func(_, v *yaml.Node) {
				for _, s := range d.strList(v, "values") {
					def.Values = append(def.Values, s.Value)
				}
			},
			"default": func(_, v *yaml.Node) { defaultNode = v },
			"min":     func(_, v *yaml.Node) { def.Min = d.bound(v, what, "min") },
			"max":     func(_, v *yaml.Node) { def.Max = d.bound(v, what, "max") },
		})
		switch {
		case def.Type == "":
			d.at(posOf(v), "%s needs a type: one of %s", what, strings.Join(FieldTypes, ", "))
			continue
		case !slices.Contains(FieldTypes, def.Type):
			d.at(typePos, "%s has unknown type %q%s (types: %s)", what, def.Type, DidYouMean(def.Type, FieldTypes), strings.Join(FieldTypes, ", "))
			continue
		case def.Type == "enum" && len(def.Values) == 0:
			d.at(typePos, "%s is an enum and needs values", what)
		case def.Type != "enum" && def.Values != nil:
			d.at(typePos, "%s lists values, which only an enum takes", what)
		case (def.Min != nil || def.Max != nil) && def.Type != "int" && def.Type != "number":
			d.at(typePos, "%s has min or max, which bound numbers: only a field of whole numbers or of numbers takes them", what)
			def.Min, def.Max = nil, nil
		case def.Min != nil && def.Max != nil && *def.Min > *def.Max:
			d.at(typePos, "%s has min %v above its max %v: no value could be given", what, *def.Min, *def.Max)
			def.Min, def.Max = nil, nil
		}
		if defaultNode != nil {
			if val, err := NormalizeField(def, fieldValue(def, defaultNode)); err != nil {
				d.at(posOf(defaultNode), "default of %s %v", what, err)
			} else {
				def.Default = val
			}
		}
		if def.Required && def.Default != nil {
			d.warnAt(posOf(k), "%s is required and has a default; the default is never used", what)
		}
		d.p.Fields = append(d.p.Fields, def)
	}
}

// bound reads a field's min or max: a number.
func (d *processDecoder) bound(n *yaml.Node, what, key string) *float64 {
	b, err := strconv.ParseFloat(n.Value, 64)
	if (n.Tag != "!!int" && n.Tag != "!!float") || err != nil || math.IsNaN(b) || math.IsInf(b, 0) {
		d.at(posOf(n), "%s of %s must be a number, like 0 or 1000, not %s", key, what, describe(n))
		return nil
	}
	return &b
}

// fieldValue is the value a field is given in the file; a yes-or-no
// field takes yes, no, on and off as well as true and false.
func fieldValue(def FieldDef, n *yaml.Node) any {
	if b, ok := boolValue(n); ok && def.Type == "bool" {
		return b
	}
	return value(n)
}

func (d *processDecoder) signals(n *yaml.Node) {
	for _, sig := range d.strList(n, "signals") {
		switch {
		case !namePattern.MatchString(sig.Value):
			d.at(sig.Pos, "signal %q must be lower-case letters, digits and _, starting with a letter", sig.Value)
		case slices.Contains(d.p.Signals, sig.Value):
			d.at(sig.Pos, "signal %q is listed twice", sig.Value)
		default:
			d.p.Signals = append(d.p.Signals, sig.Value)
		}
	}
}

// signalRef checks, once the file is read, that a signal is declared.
func (d *processDecoder) signalRef(name string, pos Pos) {
	d.checks = append(d.checks, func() {
		if name != "" && !slices.Contains(d.p.Signals, name) {
			d.at(pos, "unknown signal %q: the process declares signals %s%s", name, orNone(d.p.Signals), DidYouMean(name, d.p.Signals))
		}
	})
}

// handlers decodes on: {TRIGGER: [STEPS]}.
func (d *processDecoder) handlers(n *yaml.Node) {
	if n.Kind != yaml.MappingNode {
		d.at(posOf(n), "on must map each trigger (%s, field_changed:NAME, signal:NAME) to steps, or to when and steps, not %s", strings.Join(Triggers, ", "), describe(n))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if seen[k.Value] {
			d.at(posOf(k), "on repeats the trigger %q", k.Value)
			continue
		}
		seen[k.Value] = true
		d.inHandler = true
		h := d.handler(k, v)
		d.inHandler = false
		d.trigger(k, &h)
		d.p.Handlers = append(d.p.Handlers, h)
	}
}

// handler decodes one trigger's handler: its steps, or when, every_change
// and steps.
func (d *processDecoder) handler(k, v *yaml.Node) Handler {
	h := Handler{On: k.Value}
	what := "on." + k.Value
	// A mapping without these keys is a step written without its -: the
	// list's message says so.
	if v.Kind != yaml.MappingNode || !slices.ContainsFunc(keys(v), func(k *yaml.Node) bool {
		return k.Value == "when" || k.Value == "every_change" || k.Value == "steps"
	}) {
		h.Steps = d.steps(v, what)
		return h
	}
	var when, every *yaml.Node
	hasSteps := false
	d.mapping(v, what, map[string]field{
		"when":         func(_, n *yaml.Node) { when, h.When = n, d.str(n, what+".when") },
		"every_change": func(_, n *yaml.Node) { every, h.EveryChange = n, d.boolean(n, what+".every_change") },
		"steps":        func(_, n *yaml.Node) { hasSteps, h.Steps = true, d.steps(n, what+".steps") },
	})
	kind, _, _ := strings.Cut(h.On, ":")
	switch {
	case !hasSteps:
		d.at(posOf(v), "on %s needs steps: the steps to run when it fires", h.On)
	case when != nil && kind == "signal":
		d.at(posOf(when), "on %s cannot take when: a signal changes nothing a condition looks at, so it could never turn true; give the steps an if instead", h.On)
	case when != nil:
		d.condition(when, h.When)
		if !h.EveryChange {
			on, expr := h.On, h.When
			d.checks = append(d.checks, func() {
				if d.conds.Check(expr) == nil { // a condition in error has its message already
					d.whenCanCross(when, on, expr)
				}
			})
		}
	}
	if every != nil && when == nil {
		d.at(posOf(every), "every_change needs a when: without one, on %s already runs on every change", h.On)
	}
	return h
}

// whenLooks finds what a condition looks at that a change may move.
var whenLooks = regexp.MustCompile(`\bfields\.[a-z][a-z0-9_]*|\bseverity(_at_least)?\b|\bstatus\b`)

// whenCanCross refuses a handler's when that its trigger cannot make true:
// a condition on what the trigger's change leaves as it was is the same
// just before and just after it, so it never crosses.
func (d *processDecoder) whenCanCross(when *yaml.Node, on, expr string) {
	kind, arg, _ := strings.Cut(on, ":")
	moved, what := "", ""
	switch kind {
	case "field_changed":
		moved, what = "fields."+arg, arg
	case "severity_raised", "severity_lowered":
		moved, what = "severity", "severity"
	case "status_changed":
		moved, what = "status", "status"
	default:
		return
	}
	var looks []string
	for _, m := range whenLooks.FindAllString(expr, -1) {
		if m = strings.TrimSuffix(m, "_at_least"); !slices.Contains(looks, m) {
			looks = append(looks, m)
		}
	}
	if len(looks) == 0 || slices.Contains(looks, moved) {
		return
	}
	d.at(posOf(when), "on %s cannot fire: its when looks only at %s, which a change of %s leaves as it was, so the condition never turns true at the change; look at %s in the when, or give the steps an if instead",
		on, strings.Join(looks, " and "), what, moved)
}

// trigger checks that a handler's trigger can fire, and that the handler does
// not fire itself.
func (d *processDecoder) trigger(k *yaml.Node, h *Handler) {
	kind, arg, hasArg := strings.Cut(h.On, ":")
	pos := posOf(k)
	switch {
	case kind == "signal" && hasArg:
		d.signalRef(arg, pos)
	case kind == "field_changed" && hasArg:
		d.checks = append(d.checks, func() {
			if _, ok := d.p.Field(arg); !ok {
				d.at(pos, "on field_changed:%s can never fire: the process declares no field %q%s", arg, arg, DidYouMean(arg, ids(d.p.Fields, func(f FieldDef) string { return f.Name })))
			}
		})
	case slices.Contains(Triggers, h.On):
		if strings.HasPrefix(h.On, "severity_") {
			d.checks = append(d.checks, func() {
				if len(d.p.Severities) == 1 {
					d.at(pos, "on %s can never fire: the process has one severity", h.On)
				}
			})
		}
	default:
		d.at(pos, "unknown trigger %q%s (triggers: %s, field_changed:NAME, signal:NAME)", h.On,
			DidYouMean(h.On, append(slices.Clone(Triggers), "field_changed", "signal")), strings.Join(Triggers, ", "))
		return
	}
	// A handler that always changes what it watches would fire itself for ever.
	unconditionalSets(h.Steps, func(s *Step) {
		switch {
		case h.On == "status_changed" && s.Set.Status != "",
			strings.HasPrefix(h.On, "severity_") && s.Set.Severity != "",
			kind == "field_changed" && s.Set.Fields != nil && s.Set.Fields[arg] != nil:
			d.at(s.Pos, "this step makes on %s cyclic: it always changes what the handler watches, which fires the handler again; give it an if", h.On)
		}
	})
}

// unconditionalSets calls fn for each set step that runs whenever its
// sequence runs: neither it nor a step enclosing it has an if.
func unconditionalSets(steps []Step, fn func(*Step)) {
	for i := range steps {
		s := &steps[i]
		if s.If != "" {
			continue
		}
		if s.Set != nil {
			fn(s)
		}
		if s.Steps != nil {
			unconditionalSets(s.Steps, fn)
		}
		if s.Parallel != nil {
			unconditionalSets(s.Parallel, fn)
		}
	}
}

func (d *processDecoder) roles(n *yaml.Node) {
	for _, r := range d.strList(n, "roles") {
		switch {
		case !namePattern.MatchString(r.Value):
			d.at(r.Pos, "role %q must be lower-case letters, digits and _", r.Value)
		case slices.Contains(d.p.Roles, r.Value):
			d.at(r.Pos, "role %q is listed twice", r.Value)
		default:
			d.p.Roles = append(d.p.Roles, r.Value)
		}
	}
}

// stepKinds are the keys that choose what a step does.
var stepKinds = []string{"approval", "deadline", "http", "notify", "page", "parallel", "repeat", "review", "set", "sleep", "steps", "task", "wait"}

// sideEffectKinds are the kinds whose steps call out, so retry and timeout apply.
var sideEffectKinds = []string{"http", "notify", "page", "review", "task"}

func (d *processDecoder) steps(n *yaml.Node, what string) []Step {
	var out []Step
	terminal := ""
	for _, item := range d.seq(n, what) {
		s := d.step(item)
		if terminal != "" {
			d.at(posOf(item), "this step can never run: the step before it always sets the status to %s, which ends the incident", terminal)
			terminal = "" // report once
		}
		if s.Set != nil && IsFinalStatus(s.Set.Status) && s.If == "" {
			terminal = s.Set.Status
		}
		out = append(out, s)
	}
	return out
}

func (d *processDecoder) step(n *yaml.Node) Step {
	s := Step{Pos: posOf(n)}
	var kindKeys, commonKeys []*yaml.Node
	var ifNode *yaml.Node
	fields := map[string]field{
		"id": func(_, v *yaml.Node) {
			s.ID = d.str(v, "id")
			switch first, dup := d.ids[s.ID]; {
			case s.ID == "":
			case !namePattern.MatchString(s.ID):
				// Ids are for conditions and templates (steps.ID.output), so they must be names there.
				d.at(posOf(v), "step id %q must be lower-case letters, digits and _, starting with a letter, because conditions use it as steps.ID: write %s", s.ID, snakeCase(s.ID))
			case dup:
				d.at(posOf(v), "step id %q is already used at line %d", s.ID, first.Line)
			default:
				d.ids[s.ID] = posOf(v)
				if d.inHandler {
					d.handlerIDs[s.ID] = true
				}
			}
		},
		"name": func(_, v *yaml.Node) { s.Name = d.str(v, "name") },
		"if":   func(_, v *yaml.Node) { s.If, ifNode = d.str(v, "if"), v },
		"background": func(k, v *yaml.Node) {
			s.Background = d.boolean(v, "background")
			commonKeys = append(commonKeys, k)
		},
		"continue_on_error": func(k, v *yaml.Node) {
			s.ContinueOnError = d.boolean(v, "continue_on_error")
			commonKeys = append(commonKeys, k)
		},
		"retry": func(k, v *yaml.Node) { s.Retry = d.retry(v); commonKeys = append(commonKeys, k) },
		"timeout": func(k, v *yaml.Node) {
			s.Timeout = d.optDuration(v, "timeout")
			if s.Timeout != nil && !s.Timeout.IsFixed() {
				d.at(posOf(v), "a step's timeout is a fixed length of time (like 30m or 2h), not business days or months: it bounds how long the step's sending may take")
				s.Timeout = nil
			}
			commonKeys = append(commonKeys, k)
		},
	}
	for _, k := range stepKinds {
		fields[k] = func(key, v *yaml.Node) { kindKeys = append(kindKeys, key); d.stepKind(&s, key.Value, v) }
	}
	if n.Kind == yaml.ScalarNode && slices.Contains(stepKinds, n.Value) {
		d.at(posOf(n), "%s needs a colon and what it takes, like %s: {...} or the keys on the lines below it", n.Value, n.Value)
		return s
	}
	if !d.mapping(n, "a step", fields) {
		return s
	}
	misspeltKind := slices.ContainsFunc(keys(n), func(k *yaml.Node) bool {
		return fields[k.Value] == nil && DidYouMean(k.Value, stepKinds) != ""
	})
	switch len(kindKeys) {
	case 0:
		if !misspeltKind {
			d.at(posOf(n), "a step needs one kind, which says what it does: %s", strings.Join(stepKinds, ", "))
		}
	case 1:
	default:
		d.at(posOf(kindKeys[1]), "a step does one thing, but this one is both %s and %s; split it into two steps", kindKeys[0].Value, kindKeys[1].Value)
	}
	if ifNode != nil {
		d.condition(ifNode, s.If)
		for _, m := range conditionStepRef.FindAllStringSubmatch(s.If, -1) {
			if s.ID != "" && m[1] == s.ID {
				d.at(posOf(ifNode), "the if of step %q uses its own outputs, which exist only after it has run", s.ID)
				break
			}
		}
	}
	kind := s.Kind()
	for _, k := range commonKeys {
		switch {
		case kind == "":
		case k.Value == "continue_on_error" && kind != "parallel":
			d.at(posOf(k), "continue_on_error applies to parallel steps only, not to %s", kind)
		case (k.Value == "retry" || k.Value == "timeout") && !slices.Contains(sideEffectKinds, kind):
			d.at(posOf(k), "%s applies to steps that call out (%s); a %s step calls nothing", k.Value, strings.Join(sideEffectKinds, ", "), kind)
		case k.Value == "background" && s.Background && kind == "set":
			d.at(posOf(k), "background has no effect on a set step: it finishes at once")
		}
	}
	return s
}

// snakeCase writes an id the way ids are written: tell-legal and TellLegal
// become tell_legal.
func snakeCase(id string) string {
	var b strings.Builder
	for i, r := range id {
		switch {
		case r == '-' || r == ' ' || r == '.':
			b.WriteRune('_')
		case r >= 'A' && r <= 'Z':
			if i > 0 && id[i-1] != '-' && id[i-1] != '_' && !(id[i-1] >= 'A' && id[i-1] <= 'Z') {
				b.WriteRune('_')
			}
			b.WriteRune(r + 'a' - 'A')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func (d *processDecoder) retry(n *yaml.Node) *Retry {
	r := &Retry{}
	d.mapping(n, "retry", map[string]field{
		"attempts": func(_, v *yaml.Node) {
			a, err := strconv.Atoi(v.Value)
			if v.Tag != "!!int" || err != nil || a < 1 || a > 1000 {
				d.at(posOf(v), "retry.attempts must be a whole number from 1 to 1000")
				return
			}
			r.Attempts = a
		},
		"backoff":     func(_, v *yaml.Node) { r.Backoff = d.optDuration(v, "retry.backoff") },
		"max_backoff": func(_, v *yaml.Node) { r.MaxBackoff = d.optDuration(v, "retry.max_backoff") },
	})
	for _, b := range []*Duration{r.Backoff, r.MaxBackoff} {
		if b != nil && !b.IsFixed() {
			d.at(posOf(n), "retry backoffs are fixed lengths of time (like 10s or 5m), not business days or months")
		}
	}
	return r
}

func (d *processDecoder) optDuration(n *yaml.Node, what string) *Duration {
	if dur, ok := d.duration(n, what); ok {
		return &dur
	}
	return nil
}

func (d *processDecoder) stepKind(s *Step, kind string, v *yaml.Node) {
	switch kind {
	case "notify":
		s.Notify = d.notify(v)
	case "set":
		s.Set = d.set(v)
	case "wait":
		s.Wait = d.wait(v)
	case "sleep":
		s.Sleep = d.sleep(v)
	case "steps":
		s.Steps = d.steps(v, "steps")
		if s.Steps == nil {
			s.Steps = []Step{}
		}
		if len(s.Steps) == 0 {
			d.at(posOf(v), "steps needs at least one step")
		}
	case "parallel":
		s.Parallel = d.steps(v, "parallel")
		if s.Parallel == nil {
			s.Parallel = []Step{}
		}
		if len(s.Parallel) < 2 {
			d.at(posOf(v), "parallel needs at least two branches to run together")
		}
		for _, b := range s.Parallel {
			if b.Background {
				d.at(b.Pos, "background has no effect on a parallel branch: branches already run together")
			}
		}
	case "repeat":
		s.Repeat = d.repeat(v)
	case "deadline":
		s.Deadline = d.deadline(v)
	case "http":
		s.HTTP = d.http(v)
	case "page":
		s.Page = d.page(v)
	case "approval":
		s.Approval = d.approval(v)
	case "task":
		s.Task = d.task(v)
	case "review":
		s.Review = d.review(v)
	}
}

func (d *processDecoder) duration(n *yaml.Node, what string) (Duration, bool) {
	s := d.str(n, what)
	if s == "" {
		return Duration{}, false
	}
	dur, err := ParseDuration(s)
	if err != nil {
		d.at(posOf(n), "%s: %v", what, err)
		return Duration{}, false
	}
	return dur, true
}

// condition checks a CEL expression once fields and step ids are known.
func (d *processDecoder) condition(n *yaml.Node, expr string, alsoSees ...string) {
	if expr == "" {
		return
	}
	inHandler := d.inHandler
	d.checks = append(d.checks, func() {
		var ee *ExprError
		if err := d.conds.Check(expr); errors.As(err, &ee) {
			d.at(d.textPos(n, ee.Line, ee.Col), "%s", ee.Message)
			return
		}
		d.earlierSteps(n, "this condition", conditionStepRef, expr, inHandler, alsoSees)
	})
}

// template checks a message template by executing it against sample data.
func (d *processDecoder) template(n *yaml.Node, text string) {
	inHandler := d.inHandler
	d.checks = append(d.checks, func() {
		if _, err := CheckTemplate(text, sampleData(d.p)); err != nil {
			var te *TemplateError
			if errors.As(err, &te) {
				d.at(d.textPos(n, te.Line, te.Col), "%s", te.Message)
			} else {
				d.at(posOf(n), "%v", err)
			}
			return
		}
		d.earlierSteps(n, "this text", templateStepRef, text, inHandler, nil)
	})
}

var (
	conditionStepRef = regexp.MustCompile(`\bsteps\.([a-z][a-z0-9_]*)\b`)
	templateStepRef  = regexp.MustCompile(`\.Steps\.([a-z][a-z0-9_]*)\b`)
)

// earlierSteps reports a condition or template at n that uses the outputs of
// a step written after it: outputs exist only once their step has run. A
// handler may use any step of the main sequence (it fires while that runs),
// and a repeat's until sees its own steps.
func (d *processDecoder) earlierSteps(n *yaml.Node, what string, ref *regexp.Regexp, text string, inHandler bool, alsoSees []string) {
	at := posOf(n)
	reported := map[string]bool{}
	for _, m := range ref.FindAllStringSubmatch(text, -1) {
		id := m[1]
		pos, known := d.ids[id]
		switch {
		case !known, reported[id], slices.Contains(alsoSees, id), inHandler && !d.handlerIDs[id]:
		case pos.Line < at.Line || pos.Line == at.Line && pos.Col < at.Col:
		default:
			reported[id] = true
			d.at(at, "%s uses the outputs of step %q, which comes later (line %d): a step sees only the outputs of the steps before it", what, id, pos.Line)
		}
	}
}

// textPos maps a line and column inside a value's text (a condition, a
// template) to the file.
func (w walker) textPos(n *yaml.Node, line, col int) Pos {
	switch n.Style {
	case yaml.LiteralStyle, yaml.FoldedStyle:
		// The text starts on the line after | or >, at the block's indent.
		if l := n.Line + line; l <= len(w.lines) {
			text := w.lines[l-1]
			indent := len(text) - len(strings.TrimLeft(text, " "))
			return Pos{Line: l, Col: indent + col}
		}
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		if line <= 1 {
			return Pos{Line: n.Line, Col: n.Column + col}
		}
	default:
		if line <= 1 {
			return Pos{Line: n.Line, Col: n.Column + col - 1}
		}
	}
	return posOf(n)
}
