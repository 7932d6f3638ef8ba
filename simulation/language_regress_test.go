package simulation_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// An operational incident declared already past 100 customers pages the
// executive on call, as one whose count rises past 100 does: the built-in
// process's handler fires only at a change, and nothing in its main
// sequence covers the incident that starts past the mark, though the
// language reference says a step of the main sequence is how to.
func TestOperationalDeclaredPastAHundredPagesTheExecutive(t *testing.T) {
	lines := run(t, "operational", "major", map[string]any{"customers_affected": int64(500)})
	paged := false
	for _, l := range lines {
		paged = paged || strings.Contains(l, "of exec-oncall")
	}
	require.True(t, paged, "500 customers affected from the start, and the executive on call is never paged:\n%s", strings.Join(lines[:min(len(lines), 25)], "\n"))
}
