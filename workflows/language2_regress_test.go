package workflows_test

// Tests from the second review of fields, tasks that follow roles and
// approvals that remind.

import (
	"time"

	"github.com/incidentflow/incidentflow/channels"
	"github.com/incidentflow/incidentflow/workflows"
)

// After a reminder went out, what the store holds of the approval counts
// it and says when the next comes: the incident page, served from the
// store, must not say "never reminded, next reminder at 13:00" at 14:00.
func (s *IncidentSuite) TestStoredStateCountsTheReminder() {
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
  - set: {status: closed}
`
	c := &clocked{now: s.env.Now}
	s.acts.Channels = map[string]channels.Sender{"ops": c}
	s.env.RegisterDelayedCallback(func() {
		live := s.state()
		s.Require().Len(live.Approvals, 1)
		s.Require().Equal(1, live.Approvals[0].Reminded, "the run reminded at +4h")
		st, ok := s.store.recordedState()
		s.Require().True(ok)
		s.Require().Len(st.Approvals, 1)
		s.Equal(1, st.Approvals[0].Reminded, "the store does not count the reminder that went out an hour ago")
		s.Require().NotNil(st.Approvals[0].RemindAt)
		s.Equal(live.Approvals[0].RemindAt.UTC(), st.Approvals[0].RemindAt.UTC(), "the store's next reminder is in the past")
	}, 5*time.Hour)
	s.update(9*time.Hour, workflows.UpdateApprove, workflows.ApproveInput{By: "bob"}, "")
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input(process, "high", nil))
	s.NoError(s.env.GetWorkflowError())
}

// A task that followed its role to a new holder, and was done by someone
// else while the message telling that holder was still being retried
// (bob's channel refuses the first attempt, a second before), is
// not then announced to them as theirs to do: "You own follow-up ...
// Mark it done" for a follow-up already done sends them to a link that
// refuses them.
func (s *IncidentSuite) TestNewHolderIsNotToldOfATaskDoneMeanwhile() {
	process := `
process: p
title: P
severities: [high]
roles: [lead]
steps:
  - id: report
    task: {owner: role:lead, title: "Write the report", wait: true}
  - wait: {for: status == "closed"}
`
	s.acts.Channels["ops"] = &bobDown{recorder: s.sent, until: s.env.Now().Add(time.Hour + time.Second), now: s.env.Now}
	s.update(time.Hour, workflows.UpdateAssignRole, workflows.AssignRoleInput{Role: "lead", Person: "bob", By: "carol"}, "")
	s.update(time.Hour+500*time.Millisecond, workflows.UpdateCompleteTask, workflows.CompleteTaskInput{Task: "INC-7-T1", By: "carol"}, "")
	s.update(3*time.Hour, workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "closed"}, "")
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input(process, "high", nil))
	s.NoError(s.env.GetWorkflowError())
	s.Require().Len(s.store.messages("task_done"), 1)
	for _, l := range s.sent.lines() {
		s.NotContains(l, "bob: You own follow-up INC-7-T1", "carol did the task while the telling was retried; bob is then told he owns it")
	}
}

// A reminder's remind_message sees what any other message sees: the
// validator accepts {{ when .Steps.gdpr.Output.due }} and .Output.met in
// it, as in a notify, and the run must not then fail to write it and send
// the usual reminder instead, with a step_failed on the timeline.
func (s *IncidentSuite) TestReminderMessageSeesTheClocksAsMessagesDo() {
	process := `
process: p
title: P
severities: [high]
roles: [dpo]
steps:
  - set: {roles: {dpo: bob}}
  - id: gdpr
    background: true
    deadline: {title: GDPR Art. 33, within: 72h, from: declared}
  - id: notice
    approval:
      role: dpo
      timeout: 1d
      remind_every: 4h
      remind_message: "Approve the notice: the regulator is due {{ when .Steps.gdpr.Output.due }}{{ if .Steps.gdpr.Output.met }}, told{{ end }}"
  - set: {status: closed}
`
	s.update(5*time.Hour, workflows.UpdateApprove, workflows.ApproveInput{By: "bob"}, "")
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input(process, "high", nil))
	s.NoError(s.env.GetWorkflowError())
	s.Empty(s.store.messages("step_failed"), "the reminder could not be written")
	s.Contains(s.sent.lines(), "bob: Approve the notice: the regulator is due Sun 29 Nov 2026 09:00 UTC Approve: http://api/v1/incidents/INC-7")
}

// The timeline writes a time field's change as it writes every other time,
// in the calendar's words, not as the RFC 3339 text the field is kept in:
// a DPO reads "Aware at empty → Wed 23 Dec 2026 16:00 UTC".
func (s *IncidentSuite) TestFieldChangeWritesTimesAsTheTimelineDoes() {
	process := `
process: p
title: P
severities: [high]
fields:
  aware_at: {type: time}
steps:
  - wait: {for: status == "closed"}
`
	s.update(time.Minute, workflows.UpdateSetFields, workflows.SetFieldsInput{Fields: map[string]any{"aware_at": "2026-12-23T17:00:00+01:00"}, By: "dpo"}, "")
	s.update(time.Hour, workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "closed"}, "")
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input(process, "high", nil))
	s.NoError(s.env.GetWorkflowError())
	s.Equal([]string{"Aware at empty → Wed 23 Dec 2026 16:00 UTC by dpo"}, s.store.messages("fields_changed"))
}
