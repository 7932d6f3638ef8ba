// Package processes holds the built-in process definitions and the example org
// directory, embedded in the binary. It holds data only and imports nothing of ours.
package processes

import "embed"

// FS holds directory.yaml and the built-in *.yaml process files.
//
//go:embed *.yaml
var FS embed.FS
