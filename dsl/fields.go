package dsl

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/incidentflow/incidentflow"
)

// Length limits on field values, so one incident cannot carry megabytes of
// text: each field's, and all of an incident's fields together (as JSON),
// which its run carries in every answer it gives.
const (
	maxStringField = 1000
	maxTextField   = 10_000
	maxListField   = 100
	// MaxFields is how many bytes an incident's fields may take as JSON.
	MaxFields = 64 << 10
)

// Time fields hold times from earliestTime up to, not including, latestTime.
var (
	earliestTime = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	latestTime   = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// NormalizeField checks v against the field's type and its limits and
// returns it in canonical JSON form: int as int64, number as float64, time
// as an RFC 3339 string in UTC, list as []string. It accepts what JSON and
// YAML decoders produce.
func NormalizeField(def FieldDef, v any) (any, error) {
	return normalize(def, v, true)
}

// normalize is NormalizeField, checking the length limits only when asked:
// values already stored convert without them, whatever the limits were then.
func normalize(def FieldDef, v any, limits bool) (any, error) {
	out, err := normalizeType(def, v, limits)
	if err != nil || !limits || (def.Min == nil && def.Max == nil) {
		return out, err
	}
	var n float64
	switch x := out.(type) {
	case int64:
		n = float64(x)
	case float64:
		n = x
	}
	switch {
	case def.Min != nil && n < *def.Min:
		return nil, fmt.Errorf("must be at least %v, not %v", *def.Min, out)
	case def.Max != nil && n > *def.Max:
		return nil, fmt.Errorf("must be at most %v, not %v", *def.Max, out)
	}
	return out, nil
}

// normalizeType is normalize without the bounds of int and number fields.
func normalizeType(def FieldDef, v any, limits bool) (any, error) {
	switch def.Type {
	case "string", "text", "enum":
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("must be text, not %s", jsonKind(v))
		}
		limit := maxStringField
		if def.Type == "text" {
			limit = maxTextField
		}
		if limits && utf8.RuneCountInString(s) > limit {
			return nil, fmt.Errorf("is longer than %d characters", limit)
		}
		if problem := textProblem(s, def.Type != "text", limits); problem != "" {
			return nil, errors.New(problem)
		}
		if def.Type == "enum" && !slices.Contains(def.Values, s) {
			return nil, fmt.Errorf("must be one of %s, not %q%s", strings.Join(def.Values, ", "), s, DidYouMean(s, def.Values))
		}
		return s, nil
	case "bool":
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("must be true or false, not %s", jsonKind(v))
		}
		return b, nil
	case "int":
		switch n := v.(type) {
		case int:
			return int64(n), nil
		case int64:
			return n, nil
		case float64:
			switch {
			case n != math.Trunc(n) || math.IsInf(n, 0):
				return nil, fmt.Errorf("must be a whole number, not %s", strconv.FormatFloat(n, 'f', -1, 64))
			case math.Abs(n) >= 1<<53:
				return nil, fmt.Errorf("is too large: a whole number here is at most %d (and at least -%d)", 1<<53-1, 1<<53-1)
			}
			return int64(n), nil
		}
		return nil, fmt.Errorf("must be a whole number, not %s", jsonKind(v))
	case "number":
		switch n := v.(type) {
		case int:
			return float64(n), nil
		case int64:
			return float64(n), nil
		case float64:
			if math.IsNaN(n) || math.IsInf(n, 0) {
				return nil, fmt.Errorf("must be a finite number, not %v", n)
			}
			return n, nil
		}
		return nil, fmt.Errorf("must be a number, not %s", jsonKind(v))
	case "time":
		switch t := v.(type) {
		case time.Time:
			return t.UTC().Format(time.RFC3339Nano), nil
		case string:
			parsed, err := time.Parse(time.RFC3339, t)
			if err != nil {
				return nil, fmt.Errorf("must be a date and time written like 2026-12-23T16:00:00Z (UTC) or 2026-12-23T17:00:00+01:00, not %q", t)
			}
			// Clocks count from times: one centuries away would fall due
			// where no calendar (and no JSON) goes.
			if _, offset := parsed.Zone(); limits && (offset > 14*3600 || offset < -12*3600) {
				return nil, fmt.Errorf("has the offset %s, which no place on Earth has (offsets run from -12:00 to +14:00): %q", parsed.Format("-07:00"), t)
			}
			if limits && (parsed.Before(earliestTime) || !parsed.Before(latestTime)) {
				return nil, fmt.Errorf("must be a time between %d and %d, not %s", earliestTime.Year(), latestTime.Year()-1, parsed.UTC().Format(time.RFC3339))
			}
			return parsed.UTC().Format(time.RFC3339Nano), nil
		}
		return nil, fmt.Errorf("must be a date and time written like 2026-12-23T16:00:00Z, not %s", jsonKind(v))
	case "list":
		var items []any
		switch l := v.(type) {
		case []any:
			items = l
		case []string:
			for _, s := range l {
				items = append(items, s)
			}
		default:
			return nil, fmt.Errorf("must be a list of words or phrases, not %s", jsonKind(v))
		}
		if limits && len(items) > maxListField {
			return nil, fmt.Errorf("has more than %d entries", maxListField)
		}
		out := make([]string, len(items))
		for i, it := range items {
			s, ok := it.(string)
			if !ok {
				return nil, fmt.Errorf("entry %d must be text, not %s", i+1, jsonKind(it))
			}
			if limits && utf8.RuneCountInString(s) > maxStringField {
				return nil, fmt.Errorf("entry %d is longer than %d characters", i+1, maxStringField)
			}
			if problem := textProblem(s, true, limits); problem != "" {
				return nil, fmt.Errorf("entry %d %s", i+1, problem)
			}
			out[i] = s
		}
		return out, nil
	}
	return nil, fmt.Errorf("has unknown type %q", def.Type)
}

// textProblem says what is wrong with text a field holds: a line break in
// one that is one line, an invisible control character (one that reorders
// text among them) in any. Values already stored are not judged again.
func textProblem(s string, oneLine, limits bool) string {
	if !limits {
		return ""
	}
	return incidentflow.CheckString(s, oneLine, math.MaxInt)
}

// celValue converts a normalised field value to what CEL expects of its type.
func celValue(def FieldDef, v any) any {
	if def.Type == "dyn" {
		if v == nil {
			return ""
		}
		return v
	}
	n, err := normalize(def, v, false)
	if err != nil || n == nil {
		return zeroValue(def.Type)
	}
	if def.Type == "time" {
		t, _ := time.Parse(time.RFC3339Nano, n.(string))
		return t
	}
	return n
}

// jsonKind says in words what a value is, for messages.
func jsonKind(v any) string {
	switch x := v.(type) {
	case nil:
		return "empty"
	case string:
		return fmt.Sprintf("the text %q", x)
	case bool:
		return fmt.Sprintf("%v", x)
	case int, int64, float64:
		return fmt.Sprintf("the number %v", x)
	case []any, []string:
		return "a list"
	case map[string]any:
		return "keys with values"
	}
	return "a value of another kind"
}

// FieldError is one field value refused at declaration.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e FieldError) Error() string { return fmt.Sprintf("field %q %s", e.Field, e.Message) }

// CheckFields validates the fields given when an incident is declared: every
// name declared, every value of its type, every required field present. It
// returns the normalised fields with defaults applied, or every problem found.
func (p *Process) CheckFields(in map[string]any) (map[string]any, []FieldError) {
	out := map[string]any{}
	var errs []FieldError
	names := make([]string, 0, len(in))
	for name := range in {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		def, ok := p.Field(name)
		if !ok {
			errs = append(errs, p.unknownField(name))
			continue
		}
		if in[name] == nil {
			continue
		}
		v, err := NormalizeField(def, in[name])
		if err != nil {
			errs = append(errs, FieldError{name, err.Error()})
			continue
		}
		out[name] = v
	}
	for _, def := range p.Fields {
		if _, ok := out[def.Name]; ok {
			continue
		}
		switch {
		case def.Default != nil:
			v, err := NormalizeField(def, def.Default)
			if err == nil {
				out[def.Name] = v
			}
		case def.Required:
			errs = append(errs, FieldError{def.Name, "is required"})
		}
	}
	if len(errs) == 0 {
		errs = tooLarge(out)
	}
	return out, errs
}

func (p *Process) unknownField(name string) FieldError {
	declared := ids(p.Fields, func(f FieldDef) string { return f.Name })
	return FieldError{name, fmt.Sprintf("is not a field of %s incidents%s", p.Type, DidYouMean(name, declared))}
}

// tooLarge refuses fields that together take more than MaxFields as JSON.
func tooLarge(fields map[string]any) []FieldError {
	if b, _ := json.Marshal(fields); len(b) > MaxFields {
		return []FieldError{{"", fmt.Sprintf("are %d bytes together; an incident's fields may take at most %d (%d KB): put long documents in a linked page", len(b), MaxFields, MaxFields>>10)}}
	}
	return nil
}

// CheckFieldChange validates a change of fields during an incident as a
// declaration validates them: every name declared, every value of its
// type. A value of nil empties the field (a required one cannot be
// emptied; one with a default goes back to it). It returns the incident's
// fields after the change and the names of those whose value changes, in
// order, or every problem found.
func (p *Process) CheckFieldChange(current, change map[string]any) (map[string]any, []string, []FieldError) {
	out := maps.Clone(current)
	if out == nil {
		out = map[string]any{}
	}
	var changed []string
	var errs []FieldError
	for _, name := range slices.Sorted(maps.Keys(change)) {
		def, ok := p.Field(name)
		if !ok {
			errs = append(errs, p.unknownField(name))
			continue
		}
		v := change[name]
		switch {
		case v == nil && def.Required:
			errs = append(errs, FieldError{name, "is required, so it cannot be emptied: give it a new value instead"})
			continue
		case v == nil && def.Default != nil:
			v = def.Default
		}
		if v != nil {
			var err error
			if v, err = NormalizeField(def, v); err != nil {
				errs = append(errs, FieldError{name, err.Error()})
				continue
			}
		}
		if before, had := out[name]; had == (v != nil) && SameFieldValue(before, v) {
			continue
		}
		changed = append(changed, name)
		if v == nil {
			delete(out, name)
		} else {
			out[name] = v
		}
	}
	if len(errs) == 0 {
		errs = tooLarge(out)
	}
	if len(errs) > 0 {
		return nil, nil, errs
	}
	return out, changed, nil
}

// SameFieldValue compares two field values as JSON holds them: a list read
// back from a continued run's state is a []any, the same list set now a
// []string, and neither compares with ==.
func SameFieldValue(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ja) == string(jb)
}

// Label is the field's name as people read it: customers_affected is
// "Customers affected".
func (f FieldDef) Label() string {
	s := strings.ReplaceAll(f.Name, "_", " ")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
