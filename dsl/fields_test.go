package dsl_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/dsl"
)

// An incident's fields are bounded together as well as one by one, so that
// a declaration cannot make its run carry megabytes in every answer it
// gives and into every new run.
func TestCheckFieldsBoundsTheirSizeTogether(t *testing.T) {
	p := &dsl.Process{Type: "p", Fields: []dsl.FieldDef{{Name: "systems", Type: "list"}, {Name: "notes", Type: "text"}}}
	long := strings.Repeat("x", 1000)
	list := make([]any, 70)
	for i := range list {
		list[i] = long
	}
	_, errs := p.CheckFields(map[string]any{"systems": list})
	require.Len(t, errs, 1)
	require.Contains(t, errs[0].Message, "are 70")
	require.Contains(t, errs[0].Message, "an incident's fields may take at most 65536 (64 KB)")

	fields, errs := p.CheckFields(map[string]any{"systems": list[:30], "notes": strings.Repeat("y", 10_000)})
	require.Empty(t, errs, "within the bound")
	require.Len(t, fields["systems"], 30)

	_, errs = p.CheckFields(map[string]any{"notes": strings.Repeat("y", 10_001)})
	require.Equal(t, []dsl.FieldError{{Field: "notes", Message: "is longer than 10000 characters"}}, errs)
}

// A change of fields during an incident is checked as a declaration is,
// says which fields it changes, and may empty a field that is not required.
func TestCheckFieldChange(t *testing.T) {
	zero := 0.0
	p := &dsl.Process{Type: "security", Fields: []dsl.FieldDef{
		{Name: "customers_affected", Type: "int", Min: &zero},
		{Name: "region", Type: "enum", Values: []string{"eu", "us"}, Required: true},
		{Name: "vector", Type: "string", Default: "unknown"},
		{Name: "systems", Type: "list"},
		{Name: "aware_at", Type: "time"},
	}}
	current := map[string]any{"customers_affected": int64(40), "region": "eu", "vector": "phishing", "systems": []any{"db"}}

	t.Run("Changed", func(t *testing.T) {
		fields, changed, errs := p.CheckFieldChange(current, map[string]any{
			"customers_affected": float64(120), "region": "eu", "systems": []any{"db"}, "aware_at": "2026-12-23T17:00:00+01:00"})
		require.Empty(t, errs)
		require.Equal(t, []string{"aware_at", "customers_affected"}, changed, "the same region and systems are no change")
		require.Equal(t, int64(120), fields["customers_affected"])
		require.Equal(t, "2026-12-23T16:00:00Z", fields["aware_at"], "a time with an offset is kept in UTC")
		require.Equal(t, int64(40), current["customers_affected"], "the current fields are left as they were")
	})
	t.Run("Emptied", func(t *testing.T) {
		fields, changed, errs := p.CheckFieldChange(current, map[string]any{"systems": nil, "vector": nil})
		require.Empty(t, errs)
		require.Equal(t, []string{"systems", "vector"}, changed)
		require.NotContains(t, fields, "systems")
		require.Equal(t, "unknown", fields["vector"], "a field with a default goes back to it")
	})
	t.Run("Refused", func(t *testing.T) {
		_, _, errs := p.CheckFieldChange(current, map[string]any{
			"customers_afected": 3, "customers_affected": -1, "region": nil, "aware_at": "tomorrow"})
		require.Equal(t, []dsl.FieldError{
			{Field: "aware_at", Message: `must be a date and time written like 2026-12-23T16:00:00Z (UTC) or 2026-12-23T17:00:00+01:00, not "tomorrow"`},
			{Field: "customers_afected", Message: `is not a field of security incidents; did you mean "customers_affected"?`},
			{Field: "customers_affected", Message: "must be at least 0, not -1"},
			{Field: "region", Message: "is required, so it cannot be emptied: give it a new value instead"},
		}, errs)
	})
	t.Run("Unchanged", func(t *testing.T) {
		_, changed, errs := p.CheckFieldChange(current, map[string]any{"customers_affected": 40, "aware_at": nil})
		require.Empty(t, errs)
		require.Empty(t, changed, "an unset field emptied is no change either")
	})
}
