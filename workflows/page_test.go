package workflows_test

// Paging: escalation, acknowledgements, follow-ups, a channel that is down.

import (
	"context"
	"slices"
	"time"

	"github.com/incidentflow/incidentflow/channels"
	"github.com/incidentflow/incidentflow/workflows"
)

const pagingProcess = `
process: p
title: P
severities: [critical, minor]
steps:
  - id: page
    name: Page the on-call engineer
    page: {policy: sre-oncall, message: "[{{ .Incident.Severity }}] {{ .Incident.Ref }} {{ .Incident.Title }}"}
  - if: "!steps.page.output.acknowledged"
    notify: {to: [channel:ops], message: "nobody acknowledged (outcome {{ .Steps.page.Output.outcome }})"}
  - if: steps.page.output.acknowledged
    notify: {to: [channel:ops], message: "acknowledged by {{ .Steps.page.Output.by }} at level {{ .Steps.page.Output.level }}"}
  - wait: {for: status == "closed"}
on:
  severity_raised:
    - id: exec
      page: {policy: exec, message: "{{ .Incident.Ref }} is critical"}
    - notify: {to: [channel:ops], message: "exec page: {{ .Steps.exec.Output.outcome }} by {{ .Steps.exec.Output.by }}"}
`

func (s *IncidentSuite) TestPageEscalatesUntilAcknowledged() {
	s.env.RegisterDelayedCallback(func() {
		st := s.state()
		s.Require().Len(st.Escalations, 1)
		s.Equal(2, st.Escalations[0].Level, "level 1 had 5 minutes")
		s.Equal([]workflows.Activity{{Step: "Page the on-call engineer", Kind: "page", Waiting: "paging sre-oncall until someone acknowledges"}}, st.Active,
			"the run says it waits for the page")
		s.Equal([]string{"alice", "bob"}, st.Escalations[0].Paged)
		s.Equal(s.env.Now().Add(9*time.Minute).UTC(), st.Escalations[0].NextAt.UTC(), "level 2 started at 5m and has 10m")
	}, 6*time.Minute)
	s.update(7*time.Minute, workflows.UpdateAcknowledge, workflows.AcknowledgeInput{By: "bob"}, "")
	s.update(time.Hour, workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "closed"}, "")
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input(pagingProcess, "minor", nil))
	s.NoError(s.env.GetWorkflowError())
	s.Equal([]string{
		"alice: [minor] INC-7 Checkout is down",
		"bob: [minor] INC-7 Checkout is down",
		"alice: [minor] INC-7 Checkout is down",
		"ops: acknowledged by bob at level 2",
	}, s.sent.lines(), "level 2 pages bob and the sre team, bob once")
}

// follower stands for PagerDuty: it records triggers and the follow-ups of each.
type follower struct {
	recorder
	followed []string
}

func (f *follower) Follow(_ context.Context, u channels.FollowUp) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.followed = append(f.followed, u.Event+" "+u.DedupKey)
	return nil
}

func (s *IncidentSuite) TestAlertsAreAcknowledgedAndResolved() {
	pd := &follower{}
	s.acts.Channels["ops"] = pd
	s.update(7*time.Minute, workflows.UpdateAcknowledge, workflows.AcknowledgeInput{By: "bob"}, "")
	s.update(time.Hour, workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "resolved"}, "")
	s.update(2*time.Hour, workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "closed"}, "")
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input(pagingProcess, "minor", nil))
	s.NoError(s.env.GetWorkflowError())
	s.Len(pd.sent, 4)
	// The notice after the acknowledgement goes out while the acknowledgement
	// is followed up, so whether it is acknowledged too depends on which ran
	// first; every page is acknowledged, and everything is resolved.
	s.Subset(pd.followed, []string{
		"acknowledge incident-INC-7/page#1/round-1/level-1/person:alice",
		"acknowledge incident-INC-7/page#1/round-1/level-2/person:alice",
		"acknowledge incident-INC-7/page#1/round-1/level-2/person:bob",
	})
	s.Equal([]string{
		"resolve incident-INC-7/page#1/round-1/level-1/person:alice",
		"resolve incident-INC-7/page#1/round-1/level-2/person:alice",
		"resolve incident-INC-7/page#1/round-1/level-2/person:bob",
		"resolve incident-INC-7/steps[2]#1/channel:ops",
	}, pd.followed[len(pd.followed)-4:])
	s.Contains(s.store.kinds(), "followed_up")
}

func (s *IncidentSuite) TestAcknowledgedBeforeThePageStartsIsNotPaged() {
	process := `
process: p
title: P
severities: [high]
steps:
  - sleep: {for: 10m}
  - id: page
    page: {policy: sre-oncall, message: "page"}
  - notify: {to: [channel:ops], message: "outcome {{ .Steps.page.Output.outcome }} by {{ .Steps.page.Output.by }}"}
  - set: {status: closed}
`
	s.update(time.Minute, workflows.UpdateAcknowledge, workflows.AcknowledgeInput{By: "bob"}, "")
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input(process, "high", nil))
	s.NoError(s.env.GetWorkflowError())
	s.Equal([]string{"ops: outcome acknowledged by bob"}, s.sent.lines())
	s.Contains(s.store.kinds(), "page_skipped")
}

func (s *IncidentSuite) TestPageUnacknowledgedAfterRepeat() {
	s.update(2*time.Hour, workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "closed"}, "")
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input(pagingProcess, "minor", nil))
	s.NoError(s.env.GetWorkflowError())
	level1 := []string{"alice: [minor] INC-7 Checkout is down"}
	level2 := []string{"bob: [minor] INC-7 Checkout is down", "alice: [minor] INC-7 Checkout is down"}
	s.Equal(slices.Concat(level1, level2, level1, level2, []string{"ops: nobody acknowledged (outcome unacknowledged)"}),
		s.sent.lines(), "two rounds of two levels, 30 minutes in all")
	s.Contains(s.store.kinds(), "page_unacknowledged")
}

func (s *IncidentSuite) TestExecutivePageMidIncident() {
	s.update(time.Minute, workflows.UpdateAcknowledge, workflows.AcknowledgeInput{By: "alice"}, "")
	s.update(2*time.Minute, workflows.UpdateAcknowledge, workflows.AcknowledgeInput{By: "bob"}, "already acknowledged by alice")
	s.update(time.Hour, workflows.UpdateSetSeverity, workflows.SetSeverityInput{Severity: "critical"}, "")
	// dan was never paged; his acknowledgement is accepted and says so.
	s.update(time.Hour+3*time.Minute, workflows.UpdateAcknowledge, workflows.AcknowledgeInput{By: "dan"}, "")
	s.update(2*time.Hour, workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "closed"}, "")
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input(pagingProcess, "minor", nil))
	s.NoError(s.env.GetWorkflowError())
	s.Equal([]string{
		"alice: [minor] INC-7 Checkout is down",
		"ops: acknowledged by alice at level 1",
		"carol: INC-7 is critical",
		"ops: exec page: acknowledged by dan",
	}, s.sent.lines())
	var msgs []string
	s.store.mu.Lock()
	for _, e := range s.store.events {
		if e.Kind == "acknowledged" {
			msgs = append(msgs, e.Message)
		}
	}
	s.store.mu.Unlock()
	s.ElementsMatch([]string{"Acknowledged by alice", "Acknowledged by dan, who was not paged"}, msgs)
}
