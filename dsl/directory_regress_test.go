package dsl_test

import (
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/dsl"
)

// The audit log names whoever acted, and "anonymous" whoever no token,
// session or link vouched for (api/refusals.go): those refusals are written
// within a budget and the rest summed up in one entry. A directory may name
// a person "anonymous", and then their every refusal is taken for a
// stranger's, budgeted and summed up with them, and nobody reading the log
// can tell the two apart. The id is taken: it must be refused, by name.
func TestDirectoryRefusesThePersonAnonymous(t *testing.T) {
	_, err := dsl.Load(fstest.MapFS{"directory.yaml": {Data: []byte(`people:
  - {id: anonymous, name: Ann Onymous, email: ann@example.com}
default_channel: console
channels:
  - {id: console, type: console}
`)}, "minimal.yaml": {Data: []byte(`process: minimal
title: Minimal
severities: [minor]
steps:
  - notify: {to: [channel:console], message: "{{ .Incident.Title }}"}
`)}}, "test")
	require.Error(t, err, "a person of the directory is called anonymous, as the audit log calls nobody")
	require.Contains(t, err.Error(), "anonymous")
}
