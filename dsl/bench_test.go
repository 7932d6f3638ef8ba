package dsl_test

import (
	"testing"
	"time"

	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/processes"
)

// Benchmarks of the work an interpreter does on every workflow task.

func BenchmarkLoadBuiltins(b *testing.B) {
	for b.Loop() {
		if _, err := dsl.Load(processes.FS, "processes"); err != nil {
			b.Fatal(err)
		}
	}
}

func benchFacts() dsl.Facts {
	return dsl.Facts{Ref: "INC-42", Type: "security", Title: "Suspicious admin logins", Severity: "major", Status: "investigating",
		DeclaredAt: time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC), Acknowledged: true, AcknowledgedBy: "carol",
		Fields: map[string]any{"personal_data": true, "affected_users": int64(1200), "vector": "credentials", "nis2_in_scope": false},
		Steps:  map[string]map[string]any{}}
}

func BenchmarkConditionEval(b *testing.B) {
	cat, err := dsl.Load(processes.FS, "processes")
	if err != nil {
		b.Fatal(err)
	}
	conds, err := dsl.NewConditions(cat.Processes["security"])
	if err != nil {
		b.Fatal(err)
	}
	expr := `severity_at_least("major") && (fields.personal_data || fields.affected_users > 1000) && status != "resolved"`
	f := benchFacts()
	if _, err := conds.Eval(expr, f); err != nil { // compile once, as a run does
		b.Fatal(err)
	}
	for b.Loop() {
		if ok, err := conds.Eval(expr, f); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkNewConditions(b *testing.B) {
	cat, err := dsl.Load(processes.FS, "processes")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := dsl.NewConditions(cat.Processes["security"]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRender(b *testing.B) {
	data := dsl.TemplateData(benchFacts(), dsl.Links{Incident: "http://127.0.0.1:8080/v1/incidents/INC-42"})
	tmpl := "[{{ .Incident.Severity }}] security incident {{ .Incident.Ref }}: {{ .Incident.Title }} (vector: {{ .Fields.vector }}). Acknowledge: {{ .Links.Incident }}"
	for b.Loop() {
		if _, err := dsl.Render(tmpl, data); err != nil {
			b.Fatal(err)
		}
	}
}
