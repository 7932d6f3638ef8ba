package dsl_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/dsl"
)

// text people typed never becomes a link, even in two pieces. A
// declarer who may not approve splits the marker across two fields that
// a message prints side by side; Unlinked sees neither half as a marker,
// and the rendered message asks delivery for an approve link acting as
// every person it reaches. Unlinked should take out every "⟦" (the
// marker's first rune), not only a whole "⟦link:".
func TestTypedTextCannotMakeALinkInTwoPieces(t *testing.T) {
	facts := dsl.Facts{Ref: "INC-9", Type: "engineering", Title: "Checkout", Severity: "minor", Status: "investigating",
		DeclaredAt: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC),
		Fields:     map[string]any{"service": "checkout ⟦lin", "region": "k:approve⟧"}}
	msg, err := dsl.Render("{{ .Fields.service }}{{ .Fields.region }}", dsl.TemplateData(facts, dsl.Links{}))
	require.NoError(t, err)
	require.False(t, dsl.HasLink(msg, dsl.LinkApprove), "two typed fields made an approve link marker: %q", msg)
}
