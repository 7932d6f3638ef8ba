package dsl

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/processes"
)

// TestDiagnoseSyntaxFindsNothingInValidFiles: the line-by-line reading runs
// only when YAML cannot read a file, but a mistake it reported on a line
// that is right would send the author the wrong way. Every shipped file
// and README example style must pass it clean.
func TestDiagnoseSyntaxFindsNothingInValidFiles(t *testing.T) {
	files, err := fs.Glob(processes.FS, "*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		b, err := fs.ReadFile(processes.FS, f)
		require.NoError(t, err)
		require.Empty(t, diagnoseSyntax(strings.Split(string(b), "\n")), f)
	}
	for _, src := range []string{
		"steps:\n- id: a\n  notify: {to: [channel:x], message: hi}\non:\n  severity_raised:\n  - sleep: {for: 1m}\n",
		"description: A long text\n  that goes on here\ntitle: T\n",
		"message: >-\n  Note: folded text\n  with: colons\nnext: x\n",
		"url: https://example.com/a:b\nbody: {a: \"b: c\", d: 'e # f'}\n",
		"to:\n  - person:alice\n  - channel:console\n",
		"a: \"it's\" # a comment: here\nb: 'it''s'\n",
	} {
		require.Empty(t, diagnoseSyntax(strings.Split(src, "\n")), src)
	}
}
