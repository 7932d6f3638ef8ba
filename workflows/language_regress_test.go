package workflows_test

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/incidentflow/incidentflow/channels"
	"github.com/incidentflow/incidentflow/workflows"
)

// Tests from review (rev3): processes that validate but break at run time.

// A handler's when that cannot be evaluated at run time (here a division
// by a count set to zero) holds the handler back with only a line in the
// worker's log: the people following the incident never learn that the
// executive was not paged, nor why. A step's if that fails the same way
// puts "condition could not be evaluated" on the timeline; a handler's
// when must too.
func (s *IncidentSuite) TestHandlerConditionThatFailsIsOnTheTimeline() {
	process := `
process: p
title: P
severities: [critical, major]
fields:
  customers_affected: {type: int}
  orders: {type: int}
steps:
  - wait: {for: status == "closed"}
on:
  field_changed:customers_affected:
    when: fields.customers_affected * 100 / fields.orders > 10
    steps:
      - notify: {to: [channel:ops], message: "more than a tenth of orders"}
`
	s.update(time.Minute, workflows.UpdateSetFields, workflows.SetFieldsInput{Fields: map[string]any{"customers_affected": 50}, By: "alice"}, "")
	s.update(time.Hour, workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "closed"}, "")
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input(process, "major", map[string]any{"orders": 0}))
	s.NoError(s.env.GetWorkflowError())
	s.Empty(s.sent.lines(), "the condition failed, so nothing was sent")
	var said []string
	for _, m := range s.store.messages("step_failed") {
		if strings.Contains(m, "field_changed:customers_affected") || strings.Contains(m, "condition") {
			said = append(said, m)
		}
	}
	s.NotEmpty(said, "the timeline says the handler's condition could not be evaluated; it said only: %v", s.store.kinds())
}

// downSender is a receiver that is down: every attempt fails, and may be
// retried.
type downSender struct{}

func (downSender) Send(context.Context, channels.Message) error {
	return errors.New("503 Service Unavailable")
}

// A reminder to a channel that is down is retried (for up to an hour by
// default) and the approval waits for it: approved two minutes into the
// retries, the process goes on only when the reminder gives up, six
// minutes later here, up to an hour in production; a timeout falling in
// that hour is late as much. An approval given must end the wait at once,
// whatever a reminder is doing: send reminders beside the wait.
func (s *IncidentSuite) TestApprovalGivenWhileAReminderRetriesGoesOnAtOnce() {
	process := `
process: p
title: P
severities: [high]
roles: [dpo]
steps:
  - set: {roles: {dpo: bob}}
  - id: notice
    name: Approve the notice
    approval: {role: dpo, timeout: 1d, remind_every: 4h, remind: [channel:broken]}
  - notify: {to: [channel:ops], message: "approved by {{ .Steps.notice.Output.by }}"}
  - set: {status: closed}
`
	c := &clocked{now: s.env.Now}
	s.acts.Channels = map[string]channels.Sender{"ops": c, "broken": downSender{}}
	s.update(4*time.Hour+2*time.Minute, workflows.UpdateApprove, workflows.ApproveInput{By: "bob"}, "")
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input(process, "high", nil))
	s.NoError(s.env.GetWorkflowError())
	s.Equal([]string{"Thu 26 13:02 notify ops"}, c.sent, "approved at 13:02, the next step goes on then")
}

// The DPO learns the breach was known a day earlier than declared and
// corrects aware_at, now that fields change as an incident runs: GDPR's
// 72 hours count from the corrected time, so the clock must fall due a
// day sooner. Today the clock keeps the due time it computed when it
// started, and the statutory deadline passes with the incident's page
// showing a day to spare.
func (s *IncidentSuite) TestClockFromAFieldFollowsTheFieldsCorrection() {
	declared := s.env.Now()
	s.update(time.Hour, workflows.UpdateSetFields, workflows.SetFieldsInput{Fields: map[string]any{
		"aware_at": declared.Add(-24 * time.Hour).Format(time.RFC3339)}, By: "dan", Note: "support knew the day before"}, "")
	s.env.RegisterDelayedCallback(func() {
		s.Equal(declared.Add(48*time.Hour).UTC(), clock(s.state(), "GDPR Art. 33").Due.UTC(),
			"72h from the corrected aware_at, a day before the first due time")
	}, 2*time.Hour)
	s.update(80*time.Hour, workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "closed"}, "")
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input(clocksProcess, "high", map[string]any{"aware_at": declared.Format(time.RFC3339)}))
	s.NoError(s.env.GetWorkflowError())
}
