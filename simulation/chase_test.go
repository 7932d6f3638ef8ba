package simulation_test

import (
	"io/fs"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/processes"
	"github.com/incidentflow/incidentflow/simulation"
)

// simulate runs process, written in the test, beside the built-in
// directory, declared Tuesday 1 December 2026 09:00 London, for two days.
func simulate(t *testing.T, process string, resp simulation.Responders, events ...simulation.Event) []string {
	t.Helper()
	dir, err := fs.ReadFile(processes.FS, "directory.yaml")
	require.NoError(t, err)
	cat, err := dsl.Load(fstest.MapFS{"directory.yaml": {Data: dir}, "p.yaml": {Data: []byte(process)}}, "")
	require.NoError(t, err)
	declared := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for i := range events {
		events[i].At = declared.Add(events[i].At.Sub(time.Time{}))
	}
	lines, err := simulation.Run(simulation.Options{Process: cat.Processes["p"], Hash: cat.Sources["p"].Hash, Directory: cat.Directory,
		Severity: "high", DeclaredAt: declared, Events: events, Until: declared.Add(48 * time.Hour), Responders: resp})
	require.NoError(t, err)
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = l.At.In(cat.Directory.Calendar.Location()).Format("Mon 02 Jan 15:04") + " " + l.Kind + " " + l.Text
	}
	return out
}

// The follow-up for the lead, whom nobody is yet, goes to bob when he takes
// the role two hours in, and to alice when she takes it over; the owner
// who does it is the one who holds it then.
func TestTaskFollowsTheLeadRole(t *testing.T) {
	lines := simulate(t, `
process: p
title: P
severities: [high]
roles: [lead]
steps:
  - task: {owner: role:lead, title: "Write the report", wait: true}
`, simulation.Responders{TasksDoneAfter: 6 * time.Hour},
		simulation.Event{At: after(2 * time.Hour), Signal: "assign:lead=bob"},
		simulation.Event{At: after(5 * time.Hour), Signal: "assign:lead=alice"})
	contains(t, lines, "Tue 01 Dec 09:00 task_created Follow-up SIM-1-T1 created: Write the report, for the lead, which nobody holds yet: whoever takes it owns the task")
	contains(t, lines, "Tue 01 Dec 11:00 task_owner_changed Follow-up SIM-1-T1 'Write the report' is now owned by bob, who took the lead role")
	contains(t, lines, "Tue 01 Dec 11:00 notify → Bob Okafor: You own follow-up SIM-1-T1 of SIM-1: Write the report.")
	contains(t, lines, "Tue 01 Dec 14:00 task_owner_changed Follow-up SIM-1-T1 'Write the report' is now owned by alice, who took the lead role from bob")
	contains(t, lines, "Tue 01 Dec 14:00 notify → Alice Ng: You own follow-up SIM-1-T1 of SIM-1: Write the report.")
	contains(t, lines, "Tue 01 Dec 15:00 task_done Follow-up SIM-1-T1 done by alice")
}

// The DPO is reminded every four hours until she approves, nine hours in.
func TestApprovalRemindsTheDPO(t *testing.T) {
	lines := simulate(t, `
process: p
title: P
severities: [high]
roles: [dpo]
steps:
  - set: {roles: {dpo: dan}}
  - name: Approve the notice
    approval: {role: dpo, timeout: 1d, remind_every: 4h}
`, simulation.Responders{ApproveAfter: 9 * time.Hour})
	contains(t, lines, "Tue 01 Dec 13:00 notify → Dan Weber: Reminder: SIM-1 (Simulated p) still waits for the dpo's approval: Approve the notice. Asked Tue 1 Dec 2026 09:00 GMT; it times out Wed 2 Dec 2026 09:00 GMT. Approve: (link)")
	contains(t, lines, "Tue 01 Dec 13:00 approval_reminded Approve the notice: reminder 1 to the dpo (dan)")
	contains(t, lines, "Tue 01 Dec 17:00 notify → Dan Weber: Reminder: SIM-1")
	contains(t, lines, "Tue 01 Dec 17:00 approval_reminded Approve the notice: reminder 2 to the dpo (dan)")
	contains(t, lines, "Tue 01 Dec 18:00 approved Approve the notice approved by dan")
	for _, l := range lines {
		require.NotContains(t, l, "reminder 3", "no reminder after the approval")
	}
}
