package workflows_test

import (
	"time"

	"github.com/incidentflow/incidentflow/workflows"
)

// A page whose deliveries give up fails, as the language reference says a
// step does when "a delivery that gave up": steps.ID.output.failed tells
// later steps, so a process can fall back to another way of reaching
// people. Since levels deliver beside their acknowledgement window, the
// page's failure is set on its frame after the step has already chosen
// its outcome, and the step reports failed=false.
func (s *IncidentSuite) TestHole_PageWhoseDeliveriesGiveUpFails() {
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
