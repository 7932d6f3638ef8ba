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

// A deadline without from counts from the declaration: the validator says
// so (a warning: it is no error), and names what to write when the law
// counts from something else; beside an error in the file it says nothing.
func TestDeadlineWithoutFromIsSaid(t *testing.T) {
	process := func(extra string) fstest.MapFS {
		return fstest.MapFS{"directory.yaml": {Data: []byte(testDirectory)}, "p.yaml": {Data: []byte(`
process: p
title: P
severities: [high]
steps:
  - deadline: {title: Report, within: 15 days}
` + extra)}}
	}
	cat, err := dsl.Load(process(""), "procs")
	require.NoError(t, err)
	require.Len(t, cat.Warnings, 1)
	require.Equal(t, `procs/p.yaml:6:15: warning: deadline "Report" has no from, so its clock counts from when the incident is declared; when the law counts from something else (GDPR's 72 hours run from awareness), write from: field:aware_at, or from: declared to say it counts from the declaration`,
		cat.Warnings[0].String())
	_, err = dsl.Load(process("  - sleep: {for: 72}\n"), "procs")
	require.Error(t, err)
	require.NotContains(t, err.Error(), "has no from")
}
