package workflows_test

// Approvals that remind until they are given, and reminders and followed
// tasks carried into a new run.

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/channels"
	"github.com/incidentflow/incidentflow/workflows"
)

// An approval with remind_every reminds the role's holder at each interval,
// with their approve link, until they approve.
func (s *IncidentSuite) TestApprovalRemindsUntilApproved() {
	process := `
process: p
title: P
severities: [high]
roles: [dpo]
steps:
  - set: {roles: {dpo: bob}}
  - id: notice
    name: Approve the notice
    approval: {role: dpo, timeout: 1d, remind_every: 4h}
  - notify: {to: [channel:ops], message: "approved by {{ .Steps.notice.Output.by }}"}
  - set: {status: closed}
`
	c := &clocked{now: s.env.Now}
	s.acts.Channels = map[string]channels.Sender{"ops": c}
	s.env.RegisterDelayedCallback(func() {
		st := s.state()
		s.Require().Len(st.Approvals, 1)
		s.Equal(1, st.Approvals[0].Reminded)
		s.Equal(time.Date(2026, 11, 26, 17, 0, 0, 0, time.UTC), st.Approvals[0].RemindAt.UTC(), "the next reminder")
		s.Equal("waiting for the dpo to approve, reminding every 4h", st.Active[0].Waiting)
	}, 5*time.Hour)
	s.update(9*time.Hour, workflows.UpdateApprove, workflows.ApproveInput{By: "bob"}, "")
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input(process, "high", nil))
	s.NoError(s.env.GetWorkflowError())
	s.Equal([]string{"Thu 26 13:00 notify bob", "Thu 26 17:00 notify bob", "Thu 26 18:00 notify ops"}, c.sent, "reminded at +4h and +8h, none after the approval")
	s.Equal("Reminder: INC-7 (Checkout is down) still waits for the dpo's approval: Approve the notice. Asked Thu 26 Nov 2026 09:00 UTC; it times out Fri 27 Nov 2026 09:00 UTC. Approve: http://api/v1/incidents/INC-7",
		c.msgs[0].Message)
	s.Equal([]string{
		"Approve the notice: reminder 1 to the dpo (bob), the dpo has not approved since Thu 26 Nov 2026 09:00 UTC",
		"Approve the notice: reminder 2 to the dpo (bob), the dpo has not approved since Thu 26 Nov 2026 09:00 UTC",
	}, s.store.messages("approval_reminded"))
}

// Reminders go to whom remind names, in the words of remind_message with
// the approve link added, and stop when the approval times out.
func (s *IncidentSuite) TestApprovalRemindsUntilItTimesOut() {
	process := `
process: p
title: P
severities: [high]
roles: [dpo]
steps:
  - set: {roles: {dpo: bob}}
  - approval:
      role: dpo
      timeout: 10h
      remind_every: 4h
      remind: [role:dpo, person:carol]
      remind_message: "{{ .Incident.Ref }}: the approval of the {{ .Roles.dpo }} is still missing."
      on_timeout:
        - notify: {to: [channel:ops], message: "timed out"}
  - set: {status: closed}
`
	c := &clocked{now: s.env.Now}
	s.acts.Channels = map[string]channels.Sender{"ops": c}
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input(process, "high", nil))
	s.NoError(s.env.GetWorkflowError())
	s.Equal([]string{"Thu 26 13:00 notify bob", "Thu 26 13:00 notify carol", "Thu 26 17:00 notify bob", "Thu 26 17:00 notify carol", "Thu 26 19:00 notify ops"}, c.sent,
		"no reminder at 21:00: the approval timed out at 19:00")
	s.Equal("INC-7: the approval of the bob is still missing. Approve: http://api/v1/incidents/INC-7", c.msgs[0].Message)
	s.Contains(s.store.kinds(), "approval_timed_out")
}

// A run that continues as new while an approval reminds and a task waits
// for its role carries both on: each reminder comes once, at its time, and
// the task still follows the role.
func TestContinueAsNewCarriesRemindersAndFollowedTasks(t *testing.T) {
	process := `
process: p
title: P
severities: [critical]
roles: [lead, dpo]
steps:
  - set: {roles: {dpo: bob}}
  - parallel:
      - name: Approve
        approval: {role: dpo, timeout: 1d, remind_every: 4h}
      - name: Report
        task: {owner: role:lead, title: "Write the report", wait: true}
  - set: {status: closed}
`
	start := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	updates := []timedUpdate{
		{at: 6 * time.Hour, name: workflows.UpdateAssignRole, arg: workflows.AssignRoleInput{Role: "lead", Person: "carol", By: "bob"}},
		{at: 10 * time.Hour, name: workflows.UpdateApprove, arg: workflows.ApproveInput{By: "bob"}},
		{at: 11 * time.Hour, name: workflows.UpdateCompleteTask, arg: workflows.CompleteTaskInput{Task: "INC-7-T1", By: "carol"}},
	}
	long := []time.Duration{time.Hour, 4*time.Hour + time.Minute, 7 * time.Hour, 9 * time.Hour}
	store, sent, _, runs := runContinuing(t, process, start, updates, long)
	require.Equal(t, len(long), runs)
	require.Equal(t, []string{
		"Thu 26 13:00 notify bob",   // the first reminder
		"Thu 26 15:00 notify carol", // the task followed the lead role to carol
		"Thu 26 17:00 notify bob",   // the second reminder, in a later run
	}, sent)
	require.Len(t, store.messages("approval_reminded"), 2)
	var owners []string
	for _, c := range store.changes {
		for _, task := range c.Tasks {
			owners = append(owners, task.Owner)
		}
	}
	require.Equal(t, []string{"", "carol", "carol"}, owners)
	require.Equal(t, "closed", store.lastStatus())
}
