package dsl_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/dsl"
)

// A running incident's snapshot carries conditions the loader of its day
// accepted, and the run evaluates them with today's dsl: they must answer
// as they did (CEL's answer), not with today's load-time advice, or a step's
// if, a wait's for, a repeat's until would change the run's commands and
// break its replay. The advice is for authors, at load time.
func TestSnapshotConditionsEvaluateAsBefore(t *testing.T) {
	p := &dsl.Process{Type: "p", Severities: []string{"critical", "major", "minor"},
		Fields: []dsl.FieldDef{{Name: "area", Type: "enum", Values: []string{"finance", "other"}}}}
	c, err := dsl.NewConditions(p)
	require.NoError(t, err)
	facts := dsl.Facts{Severity: "minor", Status: "investigating", Fields: map[string]any{"area": "finance"}}
	for expr, want := range map[string]bool{
		`severity >= "major"`:      true,  // CEL compares strings: "minor" >= "major"
		`status == "open"`:         false, // a status no run has
		`fields.area == "Finance"`: false, // not the enum's value
	} {
		got, err := c.Eval(expr, facts)
		require.NoError(t, err, expr)
		require.Equal(t, want, got, expr)
		require.Error(t, c.Check(expr), "%s is refused when a process is loaded", expr)
	}
}

// So with messages: one quoting JSON renders as text/template always has
// (two braces opening nothing are text), at load time and in a run.
func TestSnapshotTemplatesRenderAsBefore(t *testing.T) {
	data := map[string]any{"Incident": map[string]any{"Ref": "INC-1"}}
	for _, check := range []func(string, map[string]any) (string, error){dsl.Render, dsl.CheckTemplate} {
		out, err := check(`Payload was {"service": {"name": "checkout"}} for {{ .Incident.Ref }}`, data)
		require.NoError(t, err)
		require.Equal(t, `Payload was {"service": {"name": "checkout"}} for INC-1`, out)
	}
	_, err := dsl.CheckTemplate(`{ .Incident.Ref }}`, data)
	require.ErrorContains(t, err, "this }} closes no placeholder")
	out, err := dsl.Render(`{ .Incident.Ref }}`, data)
	require.NoError(t, err, "a run renders what its loader accepted")
	require.Equal(t, `{ .Incident.Ref }}`, out)
}
