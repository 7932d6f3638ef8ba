package dsl_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/dsl"
)

// Text from other systems never becomes a link: an http step's output
// captured as a JSON object (a ticket tracker's answer) keeps its keys
// as they came, and a template printing it (or ranging over it) writes
// a key "⟦link:approve⟧" into the message, which delivery fills in with
// an approve link acting as every person it reaches. Unlinked cleans the
// values of outputs and fields, never their keys.
func TestOutputKeysCannotMakeALink(t *testing.T) {
	facts := dsl.Facts{Ref: "INC-9", Type: "engineering", Title: "Checkout", Severity: "minor", Status: "investigating",
		DeclaredAt: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC),
		Steps:      map[string]map[string]any{"ticket": {"labels": map[string]any{"⟦link:approve⟧": "x"}}}}
	for _, tmpl := range []string{
		"Ticket labels: {{ .Steps.ticket.Output.labels }}",
		"{{ range $k, $v := .Steps.ticket.Output.labels }}{{ $k }} {{ end }}",
	} {
		msg, err := dsl.Render(tmpl, dsl.TemplateData(facts, dsl.Links{}))
		require.NoError(t, err)
		require.False(t, dsl.HasLink(msg, dsl.LinkApprove), "%s: another system's key made an approve link marker: %q", tmpl, msg)
	}
}
