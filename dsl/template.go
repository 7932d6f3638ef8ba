package dsl

import (
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"text/template/parse"
	"time"
)

// Links are the addresses a message can point people to.
type Links struct {
	Incident string // the incident in the API
	Temporal string // its run in the Temporal Web UI
	// Actions is where action links point, before their token: the
	// public address of the app followed by /act/.
	Actions string `json:",omitempty"`
}

// TemplateData is the data a message template sees: .Incident, .Fields,
// .Roles (who holds each, "" for nobody), .Steps (each with .Output) and .Links. Everything is a map, so a misspelt key is an
// error rather than an empty string. It also holds the zone the template's
// when function writes times in, out of the template's sight.
//
// Text that came from people or other systems (titles, fields, outputs of
// http steps) is Unlinked: it cannot make a link that acts as a recipient.
func TemplateData(f Facts, l Links) map[string]any {
	steps := map[string]any{}
	for id, out := range f.Steps {
		steps[id] = map[string]any{"Output": unlinkedValue(map[string]any(out))}
	}
	fields := map[string]any{}
	for k, v := range f.Fields {
		fields[k] = unlinkedValue(v)
	}
	roles := map[string]any{}
	for k, v := range f.Roles {
		roles[k] = v
	}
	return map[string]any{
		zoneKey: f.Zone,
		"Incident": map[string]any{
			"Ref": f.Ref, "Type": f.Type, "Title": Unlinked(f.Title), "Severity": f.Severity, "Status": f.Status,
			"Summary": Unlinked(f.Summary), "DeclaredAt": f.DeclaredAt.UTC().Format(time.RFC3339),
			"Acknowledged": f.Acknowledged, "AcknowledgedBy": f.AcknowledgedBy,
		},
		"Fields": fields,
		"Roles":  roles,
		"Steps":  steps,
		"Links": map[string]any{"Incident": l.Incident, "Temporal": l.Temporal,
			// Each recipient gets links of their own: delivery fills them in.
			"Acknowledge": LinkMarker(LinkAcknowledge, ""), "Approve": LinkMarker(LinkApprove, ApprovalTarget(f.Approvals)), "Review": LinkMarker(LinkReview, "")},
	}
}

// Render executes a message template against data; a missing key is an
// error. The error is a *TemplateError, in words. Running incidents render
// their messages with it, so what it accepts never narrows: the checks that
// only help authors are CheckTemplate's.
func Render(text string, data map[string]any) (string, error) {
	t, err := newTemplate(text, data)
	if err != nil {
		return "", parseError(text, err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", execError(text, err, data)
	}
	return b.String(), nil
}

// zoneKey holds the zone in template data: no placeholder can name it.
const zoneKey = ""

// funcNames are the functions a message can call, when first: it is the
// one a near miss most likely meant.
var funcNames = []string{"when", "and", "else", "end", "eq", "ge", "gt", "if", "index", "le", "len", "lt", "ne", "not", "or", "printf", "range", "with"}

// newTemplate reads a template whose functions write times in data's zone.
func newTemplate(text string, data map[string]any) (*template.Template, error) {
	loc, _ := data[zoneKey].(*time.Location)
	if loc == nil {
		loc = time.UTC
	}
	return template.New("message").Option("missingkey=error").Funcs(template.FuncMap{
		"when": func(v any) (string, error) { return when(v, loc) },
	}).Parse(text)
}

// when writes a time as the rest of the timeline does, "Sat 26 Dec 2026
// 16:00 GMT" in the calendar's zone: a time field, .Incident.DeclaredAt, or a
// deadline's .Output.due. A time not known yet (a field nobody set, a clock
// not started) is written so.
func when(v any, loc *time.Location) (string, error) {
	switch t := v.(type) {
	case nil:
		return "(not known yet)", nil
	case time.Time:
		return FormatLocal(t, loc), nil
	case string:
		if t == "" {
			return "(not known yet)", nil
		}
		if parsed, err := time.Parse(time.RFC3339Nano, t); err == nil {
			return FormatLocal(parsed, loc), nil
		}
		return "", fmt.Errorf("when writes a date and time, and %q is not one", t)
	}
	return "", fmt.Errorf("when writes a date and time, and %v is not one", v)
}

// CheckTemplate is Render for a process being loaded: it also refuses what
// text/template takes but an author never means (see placeholderMistake),
// and a when given anything but a time.
func CheckTemplate(text string, data map[string]any) (string, error) {
	if i, msg, bad := placeholderMistake(text); bad {
		return "", newTemplateError(text, i, msg)
	}
	out, err := Render(text, data)
	if err != nil {
		return "", err
	}
	t, _ := newTemplate(text, data) // Render read it
	if err := checkWhen(text, t.Tree.Root, data); err != nil {
		return "", err
	}
	return out, nil
}

// checkWhen refuses a when whose value is not a time in every run: its
// value must be named in full (.Fields.NAME, .Incident.DeclaredAt,
// .Steps.ID.Output.due) and be a time in data.
func checkWhen(text string, n parse.Node, data map[string]any) error {
	switch x := n.(type) {
	case *parse.ListNode:
		if x == nil {
			return nil
		}
		for _, c := range x.Nodes {
			if err := checkWhen(text, c, data); err != nil {
				return err
			}
		}
	case *parse.IfNode:
		return cmp.Or(checkWhen(text, x.Pipe, data), checkWhen(text, x.List, data), checkWhen(text, x.ElseList, data))
	case *parse.RangeNode:
		return cmp.Or(checkWhen(text, x.Pipe, data), checkWhen(text, x.List, data), checkWhen(text, x.ElseList, data))
	case *parse.WithNode:
		return cmp.Or(checkWhen(text, x.Pipe, data), checkWhen(text, x.List, data), checkWhen(text, x.ElseList, data))
	case *parse.ActionNode:
		return checkWhen(text, x.Pipe, data)
	case *parse.PipeNode:
		if x == nil {
			return nil
		}
		for i, c := range x.Cmds {
			for _, arg := range c.Args {
				if err := checkWhen(text, arg, data); err != nil {
					return err
				}
			}
			if id, ok := c.Args[0].(*parse.IdentifierNode); !ok || id.Ident != "when" {
				continue
			}
			var arg parse.Node
			switch {
			case len(c.Args) == 2:
				arg = c.Args[1]
			case len(c.Args) == 1 && i > 0 && len(x.Cmds[i-1].Args) == 1: // {{ .Fields.aware_at | when }}
				arg = x.Cmds[i-1].Args[0]
			}
			if !isTime(arg, data) {
				what := "when writes a date and time"
				if f, ok := arg.(*parse.FieldNode); ok {
					what = f.String() + " is not a date and time, which when writes"
				}
				return newTemplateError(text, int(c.Position()), what+": give it one by its full name, like {{ when .Fields.aware_at }}, {{ when .Incident.DeclaredAt }} or a deadline's {{ when .Steps.ID.Output.due }}")
			}
		}
	}
	return nil
}

// isTime says whether n names a value that is a time in data.
func isTime(n parse.Node, data map[string]any) bool {
	f, ok := n.(*parse.FieldNode)
	if !ok {
		return false
	}
	var v any = data
	for _, part := range f.Ident {
		m, ok := v.(map[string]any)
		if !ok {
			return false
		}
		v = m[part]
	}
	switch t := v.(type) {
	case time.Time:
		return true
	case string:
		_, err := time.Parse(time.RFC3339Nano, t)
		return err == nil
	}
	return false
}

// RenderValue renders every string inside a JSON-like value (maps, lists,
// scalars) as a template, visiting map keys in sorted order so that the first
// error is the same on every run.
func RenderValue(v any, data map[string]any) (any, error) {
	switch x := v.(type) {
	case string:
		return Render(x, data)
	case []any:
		out := make([]any, len(x))
		for i, item := range x {
			r, err := RenderValue(item, data)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for _, k := range slices.Sorted(maps.Keys(x)) {
			r, err := RenderValue(x[k], data)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = r
		}
		return out, nil
	}
	return v, nil
}

// TemplateError is a message template that cannot be rendered; Line and
// Col are 1-based within the template's text.
type TemplateError struct {
	Line, Col int
	Message   string
}

func (e *TemplateError) Error() string { return e.Message }

func newTemplateError(text string, offset int, msg string) *TemplateError {
	p := offsetPos(text, max(offset, 0))
	return &TemplateError{Line: p.line, Col: p.col, Message: msg}
}

// dataNames are the names a template's data holds at the top.
var dataNames = []string{"Incident", "Fields", "Roles", "Steps", "Links"}

// placeholderMistake finds a }} that no {{ opened: text/template would
// print it as it is.
func placeholderMistake(text string) (int, string, bool) {
	depth := 0
	for i := 0; i < len(text)-1; i++ {
		switch text[i : i+2] {
		case "{{":
			depth++
			i++
		case "}}":
			// Two braces closing nothing are text to text/template (JSON in a
			// message ends so); what an author means as a placeholder opened
			// with one brace, { .Incident.Ref }}, is the mistake.
			if depth == 0 {
				if open := strings.LastIndex(text[:i], "{"); open >= 0 && strings.HasPrefix(strings.TrimLeft(text[open+1:], " "), ".") {
					return open, "this }} closes no placeholder: open it with two braces, like {{ .Incident.Ref }}", true
				}
				i++
				continue
			}
			depth--
			i++
		}
	}
	return 0, "", false
}

var (
	parseErrorText = regexp.MustCompile(`^template: message:(\d+): (.*)$`)
	execErrorText  = regexp.MustCompile(`^template: message:(\d+):(\d+): executing "message" at <([^>]*)>: (.*)$`)
)

// parseError puts text/template's parse errors in words.
func parseError(text string, err error) *TemplateError {
	m := parseErrorText.FindStringSubmatch(err.Error())
	if m == nil {
		return newTemplateError(text, 0, "the message cannot be read: write placeholders like {{ .Incident.Title }}")
	}
	msg := m[2]
	open := strings.Index(text, "{{")
	var fn string
	switch {
	case strings.HasPrefix(msg, "function ") && strings.HasSuffix(msg, " not defined"):
		fn = strings.Trim(strings.TrimSuffix(strings.TrimPrefix(msg, "function "), " not defined"), `"`)
		at := strings.Index(text, fn)
		if slices.Contains(dataNames, fn) || slices.ContainsFunc(dataNames, func(n string) bool { return strings.EqualFold(n, fn) }) {
			name := dataNames[slices.IndexFunc(dataNames, func(n string) bool { return strings.EqualFold(n, fn) })]
			action := text[at:]
			if end := strings.Index(action, "}}"); end >= 0 {
				action = action[:end]
			}
			return newTemplateError(text, at, fmt.Sprintf("write .%s, with a dot before it: {{ .%s%s }}", name, name, strings.TrimSpace(action[len(fn):])))
		}
		return newTemplateError(text, at, fmt.Sprintf("%q is not something a message can use: a placeholder shows a value, like {{ .Incident.Title }}, and messages have no functions but when (which writes a date and time) and the template's own (if, else, end, range, with, printf, len, index, eq, ne)%s", fn, DidYouMean(fn, funcNames)))
	case strings.Contains(msg, `unexpected "}" in operand`), strings.Contains(msg, `unexpected "}" in command`):
		return newTemplateError(text, unclosedPlaceholder(text), "a placeholder opened with {{ must close with two braces: }}")
	case strings.Contains(msg, "unclosed action"):
		return newTemplateError(text, unclosedPlaceholder(text), "a placeholder opened with {{ is never closed: end it with }}")
	case strings.Contains(msg, "unexpected EOF"):
		return newTemplateError(text, open, "an {{ if }}, {{ range }} or {{ with }} is never closed: end it with {{ end }}")
	case strings.Contains(msg, "unexpected {{end}}"):
		return newTemplateError(text, strings.Index(text, "end"), "this {{ end }} closes nothing: remove it, or add the {{ if }} it belongs to")
	case strings.Contains(msg, "unexpected bad character"), strings.Contains(msg, "bad character"):
		return newTemplateError(text, open, "a placeholder holds a character it cannot use: write names with a dot before each, like {{ .Fields.service }}")
	}
	return newTemplateError(text, open, "a placeholder cannot be read: write placeholders like {{ .Incident.Title }} or {{ .Fields.NAME }}")
}

// unclosedPlaceholder is the offset of the {{ whose }} is missing.
func unclosedPlaceholder(text string) int {
	for i := 0; ; {
		open := strings.Index(text[i:], "{{")
		if open < 0 {
			return max(strings.LastIndex(text, "{{"), 0)
		}
		open += i
		closeAt := strings.Index(text[open+2:], "}}")
		next := strings.Index(text[open+2:], "{{")
		if closeAt < 0 || next >= 0 && next < closeAt {
			return open
		}
		i = open + 2 + closeAt + 2
	}
}

// execError puts a failed execution in words: a key the data does not
// hold, with the closest one that it does.
func execError(text string, err error, data map[string]any) *TemplateError {
	m := execErrorText.FindStringSubmatch(err.Error())
	if m == nil {
		return newTemplateError(text, 0, "the message cannot be filled in: "+strings.TrimPrefix(err.Error(), "template: message:"))
	}
	path, msg := m[3], m[4]
	at := max(strings.Index(text, path), 0)
	if key, ok := strings.CutPrefix(msg, "map has no entry for key "); ok {
		key = strings.Trim(key, `"`)
		// Walk the data down the path to the map that lacks the key.
		parts := strings.Split(strings.TrimPrefix(path, "."), ".")
		var here any = data
		where := ""
		for _, part := range parts {
			mp, ok := here.(map[string]any)
			if !ok {
				break
			}
			if part == key {
				if _, has := mp[key]; !has {
					at += len(where)
					known := slices.DeleteFunc(slices.Sorted(maps.Keys(mp)), func(k string) bool { return k == zoneKey })
					return newTemplateError(text, at, missingKey(where, key, known))
				}
			}
			here, where = mp[part], where+"."+part
		}
		return newTemplateError(text, at, fmt.Sprintf("%s is not in this message's data", path))
	}
	if strings.Contains(msg, "can't evaluate field") {
		field := strings.Fields(strings.TrimPrefix(msg, "can't evaluate field "))[0]
		before := strings.TrimSuffix(path, "."+field)
		return newTemplateError(text, at, fmt.Sprintf("%s is a single value, with nothing called %s inside it: write %s on its own", before, field, before))
	}
	return newTemplateError(text, at, fmt.Sprintf("%s cannot be shown: %s", path, msg))
}

// missingKey explains a key that is not under where (".Fields", "" for the top).
func missingKey(where, key string, known []string) string {
	for _, k := range known {
		if strings.EqualFold(k, key) {
			return fmt.Sprintf("write %s.%s, not %s.%s: names in messages are written exactly, capitals included", where, k, where, key)
		}
	}
	switch where {
	case "":
		return fmt.Sprintf(".%s is not something a message can show%s (a message sees %s)", key, dotted(DidYouMean(key, known)), strings.Join(dotAll(known), ", "))
	case ".Steps":
		return fmt.Sprintf("no step has the id %q%s (steps with ids: %s)", key, DidYouMean(key, known), orNone(known))
	case ".Fields", ".Roles":
		what := map[string]string{".Fields": "field", ".Roles": "role"}[where]
		if len(known) == 0 {
			return fmt.Sprintf("the process declares no %ss: declare %s under %ss: before using it", what, key, what)
		}
		return fmt.Sprintf("the process declares no %s %q%s (%ss: %s)", what, key, DidYouMean(key, known), what, strings.Join(known, ", "))
	}
	return fmt.Sprintf("%s has no %s%s (it has %s)", where, key, strings.Replace(DidYouMean(key, known), `mean "`, `mean "`+where+".", 1), strings.Join(known, ", "))
}

// dotted turns a did-you-mean hint into one naming .Name.
func dotted(hint string) string { return strings.Replace(hint, `mean "`, `mean ".`, 1) }

func dotAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "." + n
	}
	return out
}

// sampleData is template data with every declared field and step output set, for
// checking templates at validation time.
func sampleData(p *Process) map[string]any {
	f := Facts{Ref: "INC-1", Type: p.Type, Title: p.Title, Severity: p.Severities[0], Status: DefaultInitialStatus,
		Fields: map[string]any{}, Steps: map[string]map[string]any{}, Roles: map[string]string{}}
	for _, r := range p.Roles {
		f.Roles[r] = ""
	}
	for _, d := range p.Fields {
		f.Fields[d.Name] = zeroValue(d.Type)
	}
	WalkProcess(p, func(s *Step) {
		if s.ID == "" {
			return
		}
		out := map[string]any{}
		for _, o := range s.outputs() {
			out[o.name] = zeroValue(o.typ)
		}
		f.Steps[s.ID] = out
	})
	return TemplateData(f, Links{Incident: "http://localhost/v1/incidents/INC-1", Temporal: "http://localhost/ui"})
}
