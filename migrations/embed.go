// Package migrations holds the numbered SQL migrations of the app database, one
// set per dialect (postgres/, sqlite/), embedded in the binary. Files are named
// NNNN_description.sql and applied in order by store.Migrate; a file, once
// released, is never edited. It holds data only and imports nothing of ours.
package migrations

import "embed"

// FS holds postgres/*.sql and sqlite/*.sql.
//
//go:embed postgres/*.sql sqlite/*.sql
var FS embed.FS
