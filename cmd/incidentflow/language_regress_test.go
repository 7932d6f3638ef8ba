package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// A process file copied alone into a folder, without the directory.yaml it
// was written against: validate says "unknown channel \"eng-incidents\""
// and nothing of the missing directory, so its author hunts for a typing
// slip that is not there. It must say that no directory.yaml is beside
// the file, and where it looked.
func TestValidateOneFileSaysItsDirectoryIsMissing(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "alone.yaml"), []byte(
		"process: alone\ntitle: Alone\nseverities: [high]\nsteps:\n  - notify: {to: [channel:eng-incidents], message: hi}\n"), 0o644))
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"validate", filepath.Join(dir, "alone.yaml")}, func(string) string { return "" }, &out, &errOut)
	require.Error(t, err)
	require.Contains(t, out.String()+errOut.String()+err.Error(), filepath.Join(dir, "directory.yaml"),
		"the message names the directory.yaml it did not find: %s%s", out.String(), errOut.String())
}

// A --set later than the simulated span (--for) never happens, and the
// timeline says nothing of it: the person reads a simulation of an
// incident in which the count never rose and believes the process does
// not page. Like the other bad --set values, it must be named.
func TestSimulateSetAfterTheSpanIsNamed(t *testing.T) {
	out, err := simulate(t, "operational", "--field", "customers_affected=40", "--set", "customers_affected=120@3d", "--for", "2d")
	if err != nil {
		out += err.Error()
	}
	require.Contains(t, out, "customers_affected=120@3d", "the --set that falls after the 2d simulated is named:\n%s", out)
}
