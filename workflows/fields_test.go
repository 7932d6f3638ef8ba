package workflows_test

import (
	"time"

	"github.com/incidentflow/incidentflow/workflows"
)

const countedProcess = `
process: p
title: P
severities: [critical, major, minor]
fields:
  customers_affected: {type: int, min: 0}
  region: {type: enum, values: [eu, us], required: true}
steps:
  - wait: {for: status == "closed"}
on:
  field_changed:customers_affected:
    when: fields.customers_affected > 100
    steps:
      - notify: {to: [person:carol], message: "past 100: {{ .Fields.customers_affected }}"}
  field_changed:region:
    - notify: {to: [channel:ops], message: "region {{ .Fields.region }}"}
`

// People change fields of a running incident; each change is checked as
// a declaration is, recorded with who made it and the values before and
// after, and fires field_changed. A handler with when fires once per
// crossing: when a change makes its condition true.
func (s *IncidentSuite) TestSetFields() {
	set := func(at time.Duration, fields map[string]any, wantErr string) {
		s.update(at, workflows.UpdateSetFields, workflows.SetFieldsInput{Fields: fields, By: "alice@example.com"}, wantErr)
	}
	s.update(time.Minute, workflows.UpdateSetFields, workflows.SetFieldsInput{Fields: map[string]any{"customers_affected": 120},
		By: "alice@example.com", Note: "support counted the tickets"}, "")
	set(2*time.Minute, map[string]any{"customers_affected": 150}, "")
	set(3*time.Minute, map[string]any{"customers_affected": 80, "region": "us"}, "")
	set(4*time.Minute, map[string]any{"customers_affected": 130}, "")
	set(5*time.Minute, map[string]any{"customers_affected": 130, "region": "us"}, "nothing changes: Customers affected is already 130; Region is already us")
	set(6*time.Minute, map[string]any{"customers_afected": 3}, `field "customers_afected" is not a field of p incidents; did you mean "customers_affected"?`)
	set(7*time.Minute, map[string]any{"customers_affected": "lots"}, `field "customers_affected" must be a whole number, not the text "lots"`)
	set(8*time.Minute, map[string]any{"customers_affected": -1, "region": "asia"}, `field "customers_affected" must be at least 0, not -1; field "region" must be one of eu, us, not "asia"`)
	set(9*time.Minute, map[string]any{"region": nil}, `field "region" is required, so it cannot be emptied`)
	set(10*time.Minute, map[string]any{}, `say which fields to change: "fields" is empty`)
	set(11*time.Minute, map[string]any{"customers_affected": 1e6}, "")
	s.update(time.Hour, workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "closed"}, "")
	s.env.RegisterDelayedCallback(func() {
		st := s.state()
		s.Equal(map[string]any{"customers_affected": float64(1e6), "region": "us"}, st.Fields, "the state shows the fields as changed")
	}, 30*time.Minute)
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input(countedProcess, "major", map[string]any{"customers_affected": 40, "region": "eu"}))
	s.NoError(s.env.GetWorkflowError())

	s.Equal([]string{"carol: past 100: 120", "ops: region us", "carol: past 100: 130"}, s.sent.lines(),
		"40 → 120 crosses 100; 120 → 150 does not; 150 → 80 → 130 crosses again")
	s.Equal([]string{
		"Customers affected 40 → 120 by alice@example.com: support counted the tickets",
		"Customers affected 120 → 150 by alice@example.com",
		"Customers affected 150 → 80, Region eu → us by alice@example.com",
		"Customers affected 80 → 130 by alice@example.com",
		"Customers affected 130 → 1000000 by alice@example.com",
	}, s.store.messages("fields_changed"))
	var stored map[string]any
	for _, c := range s.store.changes {
		for _, e := range c.Events {
			if e.Kind == "fields_changed" && stored == nil {
				s.Equal(map[string]any{"customers_affected": float64(40)}, e.Data["from"], "as the run's input brought it")
				s.Equal(map[string]any{"customers_affected": int64(120)}, e.Data["fields"])
				s.Equal("alice@example.com", e.Actor)
				stored = c.Fields
			}
		}
	}
	s.Equal(map[string]any{"customers_affected": int64(120), "region": "eu"}, stored, "the incident's record gets all its fields")
}

// With every_change, a handler with when fires on every change while its
// condition holds.
func (s *IncidentSuite) TestSetFieldsEveryChange() {
	process := `
process: p
title: P
severities: [critical, major]
fields:
  customers_affected: {type: int}
steps:
  - wait: {for: status == "closed"}
on:
  field_changed:customers_affected:
    when: fields.customers_affected > 100
    every_change: true
    steps:
      - notify: {to: [person:carol], message: "now {{ .Fields.customers_affected }}"}
  severity_raised:
    when: severity == "critical"
    steps:
      - notify: {to: [channel:ops], message: "critical"}
`
	for i, n := range []int{120, 150, 80, 130} {
		s.update(time.Duration(i+1)*time.Minute, workflows.UpdateSetFields, workflows.SetFieldsInput{Fields: map[string]any{"customers_affected": n}}, "")
	}
	s.update(10*time.Minute, workflows.UpdateSetSeverity, workflows.SetSeverityInput{Severity: "critical"}, "")
	s.update(11*time.Minute, workflows.UpdateSetSeverity, workflows.SetSeverityInput{Severity: "major"}, "")
	s.update(12*time.Minute, workflows.UpdateSetSeverity, workflows.SetSeverityInput{Severity: "critical"}, "")
	s.update(time.Hour, workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "closed"}, "")
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input(process, "major", nil))
	s.NoError(s.env.GetWorkflowError())
	s.Equal([]string{"carol: now 120", "carol: now 150", "carol: now 130", "ops: critical", "ops: critical"}, s.sent.lines())
	s.Equal([]string{"Customers affected empty → 120"}, s.store.messages("fields_changed")[:1], "without a name, the change is the process's")
}
