package dsl_test

import (
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/dsl"
)

// Tests from review (rev3): a process that validates must not break its
// run, and a field value must not carry what no text here may carry.

// An approval reminding every second writes 86,400 reminders a day to the
// timeline, the store and the approver's phone until someone approves: the
// validator accepts it today (simulate over 4h prints 43,000 lines). It
// must refuse a remind_every shorter than a sensible floor, naming it.
func TestApprovalRemindingEverySecondIsRefused(t *testing.T) {
	for _, every := range []string{"1s", "30s"} {
		_, err := dsl.Load(fstest.MapFS{"directory.yaml": {Data: []byte(testDirectory)}, "p.yaml": {Data: []byte(`
process: p
title: P
severities: [high]
roles: [dpo]
steps:
  - approval: {role: dpo, remind_every: ` + every + `}
`)}}, "procs")
		require.Error(t, err, "remind_every %s is accepted: the run would remind without end, every %s", every, every)
		require.Contains(t, err.Error(), "remind_every")
	}
}
