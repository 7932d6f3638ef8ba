package dsl_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/dsl"
)

var update = flag.Bool("update", false, "rewrite testdata/invalid/*.want from the validator's output (then read every diff)")

// TestInvalidCorpus validates each testdata/invalid/NAME.yaml beside
// testdata/directory.yaml and compares the report with NAME.want, exactly.
func TestInvalidCorpus(t *testing.T) {
	dir, err := os.ReadFile("testdata/directory.yaml")
	require.NoError(t, err)
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(file)
			require.NoError(t, err)
			_, err = dsl.Load(fstest.MapFS{"directory.yaml": {Data: dir}, name + ".yaml": {Data: src}}, "testdata")
			require.Error(t, err, "an invalid file must not load")
			got := err.Error() + "\n"
			wantFile := strings.TrimSuffix(file, ".yaml") + ".want"
			if *update {
				require.NoError(t, os.WriteFile(wantFile, []byte(got), 0o644))
			}
			want, err := os.ReadFile(wantFile)
			require.NoError(t, err, "run go test ./dsl -run TestInvalidCorpus -update, then check the .want file")
			require.Equal(t, string(want), got)
		})
	}
}
