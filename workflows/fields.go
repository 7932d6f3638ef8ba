package workflows

// Fields changed during an incident: the set_fields update, checked as a
// declaration checks its fields, and the handlers a change fires, which a
// condition (when) may hold back until the change makes it true.

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/dsl"
)

// UpdateSetFields is the update that changes fields of a running incident.
const UpdateSetFields = "set_fields"

// SetFieldsInput is the set_fields update's argument: the fields to change
// (a null value empties one), who changes them and why.
type SetFieldsInput struct {
	Fields map[string]any `json:"fields" limit:"json,65536"`
	By     string         `json:"by,omitempty" limit:"line,100"`
	Note   string         `json:"note,omitempty" limit:"text,10000"`
}

func (r *run) validateSetFields(in SetFieldsInput) error {
	if err := r.validateOpen(in); err != nil {
		return err
	}
	_, _, err := r.fieldChange(in)
	return err
}

// fieldChange is the incident's fields after the change in asks for, and
// the names of those it changes, or the refusal of a change that is not
// one: unknown fields, values not of their field's type, nothing different.
func (r *run) fieldChange(in SetFieldsInput) (map[string]any, []string, error) {
	if len(in.Fields) == 0 {
		return nil, nil, refused("say which fields to change: \"fields\" is empty")
	}
	fields, changed, errs := r.in.Process.CheckFieldChange(r.state.Fields, in.Fields)
	if len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Error()
		}
		return nil, nil, refused("%s", strings.Join(msgs, "; "))
	}
	if len(changed) == 0 {
		var already []string
		names := slices.Sorted(maps.Keys(in.Fields)) //workflowcheck:ignore
		for _, name := range names {
			def, _ := r.in.Process.Field(name)
			already = append(already, fmt.Sprintf("%s is already %s", def.Label(), r.shownValue(def, r.state.Fields[name])))
		}
		return nil, nil, refused("nothing changes: %s", strings.Join(already, "; "))
	}
	return fields, changed, nil
}

func (r *run) setFields(ctx workflow.Context, in SetFieldsInput) (State, error) {
	fields, changed, err := r.fieldChange(in)
	if err != nil {
		return r.state, err
	}
	before := r.facts()
	from, to := map[string]any{}, map[string]any{}
	parts := make([]string, len(changed))
	for i, name := range changed {
		def, _ := r.in.Process.Field(name)
		from[name], to[name] = r.state.Fields[name], fields[name]
		parts[i] = fmt.Sprintf("%s %s → %s", def.Label(), r.shownValue(def, r.state.Fields[name]), r.shownValue(def, fields[name]))
	}
	r.state.Fields = fields
	msg := strings.Join(parts, ", ")
	if in.By != "" {
		msg += " by " + in.By
	}
	if in.Note != "" {
		msg += ": " + in.Note
	}
	data := map[string]any{"fields": to, "from": from}
	if in.Note != "" {
		data["note"] = in.Note
	}
	seq := r.record(ctx, incidentflow.Change{Fields: fields}, r.event(ctx, "fields_changed", "", in.By, msg, data))
	r.moveClocks(ctx, changed)
	for _, name := range changed {
		r.fire(ctx, "field_changed:"+name, before)
	}
	r.flush(ctx, seq)
	return r.state, nil
}

// shownValue is a field's value as the timeline shows it: a time as every
// time there is, in the calendar's zone.
func (r *run) shownValue(def dsl.FieldDef, v any) string {
	if s, ok := v.(string); ok && def.Type == "time" {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return r.localTime(t)
		}
	}
	switch x := v.(type) {
	case nil:
		return "empty"
	case bool:
		if x {
			return "yes"
		}
		return "no"
	case float64: // as JSON brought it: 1000000, not 1e+06
		return strconv.FormatFloat(x, 'f', -1, 64)
	case []string:
		return strings.Join(x, ", ")
	case []any:
		s := make([]string, len(x))
		for i, e := range x {
			s[i] = fmt.Sprint(e)
		}
		return strings.Join(s, ", ")
	}
	return fmt.Sprint(v)
}

// holds reports whether handler h runs after a change: always without a
// condition; with one, when the change made it true (it was false in
// before, the facts just before the change), or, with every_change,
// whenever it is true now. A condition that cannot be evaluated holds back
// the handler.
func (r *run) holds(ctx workflow.Context, h *dsl.Handler, before dsl.Facts) bool {
	if h.When == "" {
		return true
	}
	now, err := r.conds.Eval(h.When, r.facts())
	if err != nil {
		// As a step's if that cannot be evaluated, it is on the timeline:
		// those following the incident learn the handler did not run.
		r.record(ctx, incidentflow.Change{}, r.event(ctx, "step_failed", "on "+h.On, "",
			fmt.Sprintf("on %s: the condition %s could not be evaluated (%v); the handler did not run", h.On, h.When, err), nil))
		return false
	}
	if !now || h.EveryChange {
		return now
	}
	was, err := r.conds.Eval(h.When, before)
	return err != nil || !was
}
