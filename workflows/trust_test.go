package workflows_test

// What a run must hold to, whatever people and channels do: lists set,
// people not undone, stores away for long, reviews cancelled.

import (
	"context"
	"errors"
	"net/mail"
	"time"

	"github.com/incidentflow/incidentflow/channels"
	"github.com/incidentflow/incidentflow/workflows"
)

// A process sets a list field as it sets any other: once to a new value
// (its handler fires once), then to the same value again (nothing changes).
func (s *IncidentSuite) TestSetListField() {
	process := `
process: p
title: P
severities: [minor]
fields:
  regions: {type: list}
steps:
  - set: {fields: {regions: [eu, us]}}
  - sleep: {for: 1m}
  - set: {fields: {regions: [eu, us]}}
  - wait: {for: status == "closed"}
on:
  field_changed:regions:
    - notify: {to: [channel:ops], message: "regions: {{ .Fields.regions }}"}
`
	s.update(time.Hour, workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "closed"}, "")
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input(process, "minor", map[string]any{"regions": []any{"eu"}}))
	s.NoError(s.env.GetWorkflowError())
	s.Equal([]string{"ops: regions: [eu us]"}, s.sent.lines(), "the same list set again is no change")
}

// downFor refuses a person's deliveries for a while, as a channel that is
// down does, and records the rest.
type downFor struct {
	*recorder
	person string
	until  time.Time
	now    func() time.Time
}

func (d *downFor) Send(ctx context.Context, m channels.Message) error {
	if m.Recipient != nil && m.Recipient.ID == d.person && d.now().Before(d.until) {
		return errors.New("connection refused")
	}
	return d.recorder.Send(ctx, m)
}

// A channel that is down does not delay escalation: level 1's window opens
// when the level is due, and level 2 is paged when it closes, while level
// 1's delivery goes on retrying beside it.
func (s *IncidentSuite) TestChannelDownDoesNotDelayEscalation() {
	s.acts.Channels["ops"] = &downFor{recorder: s.sent, person: "alice", until: s.env.Now().Add(30 * time.Minute), now: s.env.Now}
	s.env.RegisterDelayedCallback(func() {
		st := s.state()
		s.Require().Len(st.Escalations, 1)
		s.Equal(2, st.Escalations[0].Level, "level 2 is paged when level 1's 5 minutes are up, alice's channel down or not")
		s.Contains(s.sent.lines(), "bob: [minor] INC-7 Checkout is down", "bob has his page by then")
	}, 6*time.Minute)
	s.update(7*time.Minute, workflows.UpdateAcknowledge, workflows.AcknowledgeInput{By: "bob"}, "")
	s.update(time.Hour, workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "closed"}, "")
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input(pagingProcess, "minor", nil))
	s.NoError(s.env.GetWorkflowError())
	s.Contains(s.sent.lines(), "bob: [minor] INC-7 Checkout is down")
	s.Contains(s.sent.lines(), "ops: acknowledged by bob at level 2")
}

// A process step never moves the status back past what a person set: the
// operational process's set to investigating, running a moment after
// someone resolved the incident, leaves it resolved and says why.
func (s *IncidentSuite) TestSetDoesNotUndoAPerson() {
	process := `
process: p
title: P
severities: [minor]
steps:
  - sleep: {for: 1m}
  - set: {status: investigating}
  - wait: {for: status == "closed"}
`
	s.update(30*time.Second, workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "resolved", By: "alice"}, "")
	s.env.RegisterDelayedCallback(func() {
		s.Equal("resolved", s.state().Status, "alice resolved it; the process's set does not move it back")
	}, 2*time.Minute)
	s.update(time.Hour, workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "closed", By: "alice"}, "")
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input(process, "minor", nil))
	s.NoError(s.env.GetWorkflowError())
	s.Contains(s.store.messages("step_skipped"), "steps[1]: the status stays resolved: alice set it to resolved, and a process step does not move it back past that to investigating")
}

// A store outage longer than the recorder's week of retries still reaches
// the store once it is back: the recorder never gives up on a change.
func (s *IncidentSuite) TestRecorderOutlastsALongStoreOutage() {
	back := s.env.Now().Add(8 * 24 * time.Hour)
	s.store.down = func() bool { return s.env.Now().Before(back) }
	s.update(9*24*time.Hour, workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "closed", By: "alice"}, "")
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input(basicProcess, "minor", nil))
	s.NoError(s.env.GetWorkflowError())
	s.Contains(s.store.kinds(), "declared", "the declaration, queued eight days, is in the store")
	s.Equal("closed", s.store.lastStatus())
}

// What a person set holds past the process's own moves: after a person
// set monitoring and the process moved on to resolved, a later set back to
// fixing is still skipped.
func (s *IncidentSuite) TestSetDoesNotUndoAPersonAfterMovingOn() {
	process := `
process: p
title: P
severities: [minor]
steps:
  - sleep: {for: 1m}
  - set: {status: resolved}
  - sleep: {for: 1m}
  - set: {status: fixing}
  - wait: {for: status == "closed"}
`
	s.update(30*time.Second, workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "monitoring", By: "alice"}, "")
	s.env.RegisterDelayedCallback(func() { s.Equal("resolved", s.state().Status) }, 3*time.Minute)
	s.update(time.Hour, workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "closed", By: "alice"}, "")
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input(process, "minor", nil))
	s.NoError(s.env.GetWorkflowError())
	s.Len(s.store.messages("step_skipped"), 1, "only the move back to fixing is skipped")
}

// Closing an incident cancels its review not yet held: the attendees get
// the same calendar event (its UID) at the next SEQUENCE, cancelled.
func (s *IncidentSuite) TestClosingCancelsTheReview() {
	process := `
process: p
title: P
severities: [minor]
roles: [lead]
steps:
  - set: {roles: {lead: carol}}
  - name: Review
    review: {within: 5 business days, attendees: [role:lead]}
`
	s.update(time.Hour, workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "closed", By: "alice"}, "")
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input(process, "minor", nil))
	s.NoError(s.env.GetWorkflowError())
	var invitations []channels.Invitation
	for _, m := range s.sent.sent {
		if m.Invitation != nil {
			invitations = append(invitations, *m.Invitation)
		}
	}
	s.Require().Len(invitations, 2, "the invitation, then its cancellation")
	s.False(invitations[0].Cancelled)
	s.True(invitations[1].Cancelled)
	s.Equal(invitations[0].UID, invitations[1].UID, "the same calendar event")
	s.Equal(invitations[0].Sequence+1, invitations[1].Sequence)
	s.Contains(s.store.kinds(), "review_cancelled")
	s.Contains(string(channels.ICS(invitations[1], mail.Address{Address: "incidents@example.com"})), "METHOD:CANCEL")
}
