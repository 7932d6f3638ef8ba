package workflows_test

import (
	"context"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/incidentflow/incidentflow/channels"

	"github.com/incidentflow/incidentflow/workflows"
)

// A page whose deliveries give up fails, as the language reference says a
// step does when "a delivery that gave up": steps.ID.output.failed tells
// later steps, so a process can fall back to another way of reaching
// people. Since levels deliver beside their acknowledgement window, the
// page's failure is set on its frame after the step has already chosen
// its outcome, and the step reports failed=false.
func (s *IncidentSuite) TestPageWhoseDeliveriesGiveUpFails() {
	s.acts.Channels["ops"] = &downFor{recorder: s.sent, person: "carol", until: s.env.Now().Add(24 * time.Hour), now: s.env.Now}
	process := `
process: p
title: P
severities: [minor]
steps:
  - id: page
    name: Page carol
    timeout: 1m
    retry: {attempts: 2, backoff: 1s}
    page: {policy: exec, message: "page"}
  - notify: {to: [person:bob], message: "page failed {{ .Steps.page.Output.failed }}"}
  - wait: {for: status == "closed"}
`
	s.update(2*time.Hour, workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "closed", By: "bob"}, "")
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input(process, "minor", nil))
	s.NoError(s.env.GetWorkflowError())
	s.NotEmpty(s.store.messages("step_failed"), "the page's delivery gave up")
	s.Contains(s.sent.lines(), "bob: page failed true", "a page whose every delivery gave up is a failed step")
}

// ackDuring is a channel whose delivery to one person is acknowledged
// by them before the delivery returns: the page went out, and its person
// answered it at once, while the worker was still finishing the send.
type ackDuring struct {
	*recorder
	person string
	ack    func()
}

func (d *ackDuring) Send(ctx context.Context, m channels.Message) error {
	if err := d.recorder.Send(ctx, m); err != nil {
		return err
	}
	if m.Recipient != nil && m.Recipient.ID == d.person && m.Event == "page" {
		d.ack()
		select { // the send returns a moment later, or when the run cancels it
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	return nil
}

// The timeline says who was paged: a page acknowledged while its level's
// delivery was finishing is on it. Since levels deliver beside their
// window, an acknowledgement cancels the delivery and its result is
// dropped, so the timeline says "Acknowledged by carol" and no page.
func (s *IncidentSuite) TestPageAcknowledgedWhileDeliveringIsOnTheTimeline() {
	s.acts.Channels["ops"] = &ackDuring{recorder: s.sent, person: "carol", ack: func() {
		s.env.UpdateWorkflow(workflows.UpdateAcknowledge, "ack-carol", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { s.Fail("acknowledgement refused", "%v", err) }, OnAccept: func() {}, OnComplete: func(any, error) {},
		}, workflows.AcknowledgeInput{By: "carol"})
	}}
	process := `
process: p
title: P
severities: [minor]
steps:
  - id: page
    page: {policy: exec, message: "page"}
  - wait: {for: status == "closed"}
`
	s.update(time.Hour, workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "closed", By: "carol"}, "")
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input(process, "minor", nil))
	s.NoError(s.env.GetWorkflowError())
	s.Contains(s.sent.lines(), "carol: page", "carol was paged")
	s.Contains(s.store.kinds(), "acknowledged")
	s.NotEmpty(s.store.messages("paged"), "the page that went out to carol is on the timeline")
}
