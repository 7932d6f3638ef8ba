package dsl

import (
	"bytes"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"text/template"
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
// error rather than an empty string.
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
	t, err := template.New("message").Option("missingkey=error").Parse(text)
	if err != nil {
		return "", parseError(text, err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", execError(text, err, data)
	}
	return b.String(), nil
}

// CheckTemplate is Render for a process being loaded: it also refuses what
// text/template takes but an author never means (see placeholderMistake).
func CheckTemplate(text string, data map[string]any) (string, error) {
	if i, msg, bad := placeholderMistake(text); bad {
		return "", newTemplateError(text, i, msg)
	}
	return Render(text, data)
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
		return newTemplateError(text, at, fmt.Sprintf("%q is not something a message can use: a placeholder shows a value, like {{ .Incident.Title }}, and messages have no functions but the template's own (if, else, end, range, with, printf, len, index, eq, ne)", fn))
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
					return newTemplateError(text, at, missingKey(where, key, slices.Sorted(maps.Keys(mp))))
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
