package dsl_test

import (
	"testing"
	"testing/fstest"

	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/processes"
)

// FuzzLoad feeds arbitrary process files to the loader: it must report
// problems, never panic. Run it with: go test -fuzz FuzzLoad ./dsl/
func FuzzLoad(f *testing.F) {
	for _, name := range []string{"engineering.yaml", "security.yaml", "privacy.yaml", "operational.yaml"} {
		b, err := processes.FS.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("process: p\ntitle: P\nseverities: [a]\nsteps:\n  - wait: {for: 'fields.x ==', timeout: 3 days}\n"))
	f.Add([]byte("- [\n"))
	f.Add([]byte("process: p\ntitle:T\nseverities: [a\nsteps:\n\t- notify\n   message: {{ .X }} : \"x\\q\n  - deadline: {title: T, within: 1 month, count: eu, day_ends: \"17:30 ET\"}\n"))
	f.Add([]byte("process: p\ntitle: T\nseverities: [a]\nsteps:\n  - if: (severity = “a” and not fields.x\n    notify: {to: [legal], message: \"{ .Incident.ref }}{{ Fields.x }\"}\n"))
	f.Add([]byte("process: &a p\ntitle: *a\nseverities: *a\nsteps: [{notify: {to: *a, message: '{{'}}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = dsl.Load(fstest.MapFS{
			"directory.yaml": {Data: []byte(testDirectory)},
			"p.yaml":         {Data: data},
		}, "")
		var problems dsl.Problems
		dsl.ParseDirectory("directory.yaml", data, &problems)
	})
}
