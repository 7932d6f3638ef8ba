package workflows_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The interpreter does no side effects of its own (its package doc): it
// imports none of the packages that do them, or that serve people.
func TestInterpreterImportsNoSideEffects(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{join .Imports " "}}`, "github.com/incidentflow/incidentflow/workflows").Output()
	require.NoError(t, err)
	imports := " " + strings.TrimSpace(string(out)) + " "
	for _, pkg := range []string{"channels", "store", "api", "web"} {
		require.NotContains(t, imports, " github.com/incidentflow/incidentflow/"+pkg+" ", "workflows imports %s", pkg)
	}
}
