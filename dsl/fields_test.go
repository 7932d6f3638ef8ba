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
