package dsl

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/template"
	"time"
)

// Links are the addresses a message can point people to.
type Links struct {
	Incident string // the incident in the API
	Temporal string // its run in the Temporal Web UI
}

// TemplateData is the data a message template sees: .Incident, .Fields,
// .Roles (who holds each, "" for nobody), .Steps (each with .Output) and .Links. Everything is a map, so a misspelt key is an
// error rather than an empty string.
func TemplateData(f Facts, l Links) map[string]any {
	steps := map[string]any{}
	for id, out := range f.Steps {
		steps[id] = map[string]any{"Output": out}
	}
	fields := map[string]any{}
	for k, v := range f.Fields {
		fields[k] = v
	}
	roles := map[string]any{}
	for k, v := range f.Roles {
		roles[k] = v
	}
	return map[string]any{
		"Incident": map[string]any{
			"Ref": f.Ref, "Type": f.Type, "Title": f.Title, "Severity": f.Severity, "Status": f.Status,
			"Summary": f.Summary, "DeclaredAt": f.DeclaredAt.UTC().Format(time.RFC3339),
			"Acknowledged": f.Acknowledged, "AcknowledgedBy": f.AcknowledgedBy,
		},
		"Fields": fields,
		"Roles":  roles,
		"Steps":  steps,
		"Links":  map[string]any{"Incident": l.Incident, "Temporal": l.Temporal},
	}
}

// Render executes a message template against data; a missing key is an error.
func Render(text string, data map[string]any) (string, error) {
	t, err := template.New("message").Option("missingkey=error").Parse(text)
	if err != nil {
		return "", templateError(err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", templateError(err)
	}
	return b.String(), nil
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

// templateError drops text/template's "template: message:" prefix, keeping its
// line:col inside the template.
func templateError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "template: ")
	msg = strings.TrimPrefix(msg, "message:")
	msg = strings.Replace(msg, `executing "message" at `, "", 1)
	msg = strings.Replace(msg, ": map has no entry for key ", ": no such key ", 1)
	return fmt.Errorf("template %s", msg)
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
