package cluster

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const module = "github.com/incidentflow/incidentflow"

// The cluster is for tests and benchmarks: no package the product builds
// links it, and only devserver/ (and cmd/, for `dev`) links the Temporal
// server, so the rest of the tree builds without it.
func TestOnlyTestsLinkTheCluster(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Deps " "}}`, module+"/...").Output()
	require.NoError(t, err)
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, deps, _ := strings.Cut(line, " ")
		deps = " " + deps + " "
		if !strings.HasPrefix(pkg, module+"/devserver/cluster") {
			require.NotContains(t, deps, " "+module+"/devserver/cluster ", "%s links the test cluster", pkg)
		}
		if !strings.HasPrefix(pkg, module+"/devserver") && pkg != module+"/cmd/incidentflow" {
			require.NotContains(t, deps, " go.temporal.io/server/temporal ", "%s links the Temporal server", pkg)
		}
		checked++
	}
	require.Greater(t, checked, 10)
}
