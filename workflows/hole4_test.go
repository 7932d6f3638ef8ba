package workflows_test

import (
	"context"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/incidentflow/incidentflow/channels"

	"github.com/incidentflow/incidentflow/workflows"
)

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
