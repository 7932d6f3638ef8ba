package processes_test

import (
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/processes"
	"github.com/incidentflow/incidentflow/simulation"
)

var (
	yamlBlock = regexp.MustCompile("(?s)```yaml\n(.*?)```")
	quoted    = regexp.MustCompile("(?m)^> `(.*)`$")
)

// The README's "Common mistakes" stay true: each snippet, a step of the
// section's example process, makes the validator say exactly the words quoted
// after it (file:line:col included; a warning's, when the snippet is
// valid), or, for a quote without a place, the snippet is valid and its
// simulated timeline says them.
func TestReadmeCommonMistakes(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(readme), "\n## Common mistakes\n")
	require.True(t, ok, "README.md has a Common mistakes section")
	section, _, _ = strings.Cut(section, "\n## ")
	dir, err := processes.FS.ReadFile(dsl.DirectoryFile)
	require.NoError(t, err)

	blocks := yamlBlock.FindAllStringSubmatchIndex(section, -1)
	require.Greater(t, len(blocks), 10, "the example process and its mistakes")
	preamble := section[blocks[0][2]:blocks[0][3]]
	for i, b := range blocks[1:] {
		snippet := section[b[2]:b[3]]
		end := len(section)
		if i+2 < len(blocks) {
			end = blocks[i+2][0]
		}
		var quotes []string
		for _, m := range quoted.FindAllStringSubmatch(section[b[1]:end], -1) {
			quotes = append(quotes, m[1])
		}
		require.NotEmpty(t, quotes, "the snippet\n%s\nis followed by what is said about it", snippet)
		title := section[:b[0]]
		title = title[strings.LastIndex(title, "\n**")+3:]
		title, _, _ = strings.Cut(title, "**")
		t.Run(title, func(t *testing.T) {
			fsys := fstest.MapFS{dsl.DirectoryFile: {Data: dir}, "example.yaml": {Data: []byte(preamble + snippet)}}
			cat, err := dsl.LoadFile(fsys, ".", "example.yaml")
			if !strings.HasPrefix(quotes[0], "example.yaml:") {
				require.NoError(t, err)
				timeline := simulate(t, cat)
				for _, q := range quotes {
					require.Contains(t, timeline, q)
				}
				return
			}
			var problems dsl.Problems
			if err == nil { // what is said is a warning
				problems = cat.Warnings
			} else {
				require.True(t, errors.As(err, &problems), "the snippet\n%s\nis refused", snippet)
			}
			said := strings.Split(problems.Error(), "\n")
			for _, q := range quotes {
				require.Contains(t, said, q)
			}
		})
	}
}

// simulate runs the catalog's one process for a day and returns its timeline.
func simulate(t *testing.T, cat *dsl.Catalog) string {
	t.Helper()
	p := cat.Processes["example"]
	at := time.Date(2026, 12, 23, 16, 0, 0, 0, time.UTC)
	lines, err := simulation.Run(simulation.Options{Process: p, Hash: cat.Sources["example"].Hash, Directory: cat.Directory,
		Severity: p.Severities[0], DeclaredAt: at, Until: at.Add(24 * time.Hour)})
	require.NoError(t, err)
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l.Text + "\n")
	}
	return b.String()
}
