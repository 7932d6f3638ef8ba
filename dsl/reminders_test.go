package dsl_test

import (
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/dsl"
)

// An approval that reminds reminds its role's holder unless it says whom.
func TestApprovalRemindsItsRoleByDefault(t *testing.T) {
	cat, err := dsl.Load(fstest.MapFS{"directory.yaml": {Data: []byte(testDirectory)}, "p.yaml": {Data: []byte(`
process: p
title: P
severities: [high]
roles: [dpo]
steps:
  - approval: {role: dpo, timeout: 2 business days, remind_every: 1 business day}
  - approval: {role: dpo, timeout: 1d, remind_every: 4h, remind: [role:dpo, team:sre], remind_message: "{{ .Incident.Ref }}: {{ .Links.Approve }}"}
  - approval: {role: dpo, timeout: 1d}
`)}}, "procs")
	require.NoError(t, err)
	steps := cat.Processes["p"].Steps
	require.Equal(t, []dsl.Target{{Kind: "role", ID: "dpo"}}, steps[0].Approval.Remind)
	require.Equal(t, 1, steps[0].Approval.RemindEvery.BusinessDays)
	require.Equal(t, []dsl.Target{{Kind: "role", ID: "dpo"}, {Kind: "team", ID: "sre"}}, steps[1].Approval.Remind)
	require.Equal(t, 4*time.Hour, steps[1].Approval.RemindEvery.Fixed)
	require.Nil(t, steps[2].Approval.RemindEvery, "no reminders unless asked for")
	require.Empty(t, steps[2].Approval.Remind)
}
