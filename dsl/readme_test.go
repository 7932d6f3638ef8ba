package dsl_test

import (
	"io/fs"
	"os"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/processes"
)

// The handler examples of processes/README.md (its yaml blocks that begin
// with on:) validate, in a process beside the built-in directory that
// declares what they use.
func TestREADMEHandlerExamplesValidate(t *testing.T) {
	readme, err := os.ReadFile("../processes/README.md")
	require.NoError(t, err)
	dir, err := fs.ReadFile(processes.FS, "directory.yaml")
	require.NoError(t, err)
	blocks := regexp.MustCompile("(?s)```yaml\n(on:\n.*?)```").FindAllStringSubmatch(string(readme), -1)
	require.GreaterOrEqual(t, len(blocks), 2, "the README shows handlers, with and without when")
	for _, b := range blocks {
		src := "process: p\ntitle: P\nseverities: [critical, major, minor]\nfields:\n  customers_affected: {type: int, min: 0}\n" +
			"steps:\n  - wait: {for: status == \"closed\"}\n" + b[1]
		_, err := dsl.Load(fstest.MapFS{"directory.yaml": {Data: dir}, "p.yaml": {Data: []byte(src)}}, "readme")
		require.NoError(t, err, "the README's example:\n%s", strings.TrimSpace(b[1]))
	}
}
