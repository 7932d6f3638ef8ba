package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing/fstest"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/activities"
	"github.com/incidentflow/incidentflow/channels"
	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/workflows"
)

// pairDirectory is the test directory with a policy whose one level pages
// two people at once.
var pairDirectory = strings.Replace(testDirectory, "policies:\n", `policies:
  - id: pair
    levels:
      - {targets: [person:alice, person:bob], ack_within: 30m}
`, 1)

// inputIn is input with the directory given instead of the test's own.
func (s *IncidentSuite) inputIn(directory, process string) workflows.Input {
	cat, err := dsl.Load(fstest.MapFS{
		"directory.yaml": {Data: []byte(directory)},
		"p.yaml":         {Data: []byte(process)},
	}, "")
	s.Require().NoError(err)
	p := cat.Processes["p"]
	return workflows.Input{
		Incident: workflows.Declared{Ref: "INC-7", Type: "p", Title: "Checkout is down", Severity: "minor", Status: p.InitialStatus,
			DeclaredBy: "carol", DeclaredAt: s.env.Now()},
		Process: *p, ProcessHash: cat.Sources["p"].Hash, Links: dsl.Links{Incident: "http://api/v1/incidents/INC-7"},
		Features: workflows.Features,
	}
}

// downFollower is a channel that follows its alerts up (PagerDuty) and is
// down for one person for a while.
type downFollower struct {
	follower
	person string
	until  time.Time
	now    func() time.Time
}

func (d *downFollower) Send(ctx context.Context, m channels.Message) error {
	if m.Recipient != nil && m.Recipient.ID == d.person && d.now().Before(d.until) {
		return errors.New("connection refused")
	}
	return d.follower.Send(ctx, m)
}

// A page whose delivery gives up fails the step, as the language reference
// says ("a step fails when what it does fails for good: a delivery that gave
// up") and as the page did before its deliveries ran beside it: the step
// reports failed true.
func (s *IncidentSuite) TestPageDeliveryGaveUpFailsTheStep() {
	s.acts.Channels["ops"] = &downFor{recorder: s.sent, person: "carol", until: s.env.Now().Add(1000 * time.Hour), now: s.env.Now}
	process := `
process: p
title: P
severities: [minor]
steps:
  - id: page
    retry: {attempts: 1}
    page: {policy: exec, message: "m"}
  - notify: {to: [channel:ops], message: "page failed {{ .Steps.page.Output.failed }}"}
  - set: {status: closed}
`
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input(process, "minor", nil))
	s.NoError(s.env.GetWorkflowError())
	s.Contains(s.store.kinds(), "step_failed", "the delivery gave up")
	s.Equal([]string{"ops: page failed true"}, s.sent.lines(), "the page's delivery gave up, so the step failed")
}

// An acknowledgement while a level's delivery is still retrying for one of
// its people must not lose what the delivery already did: alice's alert went
// out through a channel that follows its alerts up (PagerDuty), so her
// acknowledgement and the resolution must reach it. Cancelling the delivery
// on the acknowledgement drops its result, Tracked with it, and her alert
// stays open in PagerDuty (which goes on paging by its own rules).
func (s *IncidentSuite) TestAckDuringRetryingDeliveryStillFollowsUp() {
	var problems dsl.Problems
	dir := dsl.ParseDirectory("directory.yaml", []byte(pairDirectory), &problems)
	s.Require().Empty(problems)
	s.registerDirectory(dir)
	pd := &downFollower{person: "bob", until: s.env.Now().Add(90 * time.Second), now: s.env.Now}
	s.acts.Channels["ops"] = pd
	process := `
process: p
title: P
severities: [minor]
steps:
  - id: page
    page: {policy: pair, message: "m"}
  - wait: {for: status == "closed"}
`
	s.update(time.Minute, workflows.UpdateAcknowledge, workflows.AcknowledgeInput{By: "alice"}, "")
	s.update(time.Hour, workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "closed", By: "alice"}, "")
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.inputIn(pairDirectory, process))
	s.NoError(s.env.GetWorkflowError())
	s.Contains(pd.lines(), "alice: m", "alice was paged through the following channel")
	s.Contains(pd.followed, "resolve incident-INC-7/page#1/round-1/level-1/person:alice",
		"alice's alert is resolved when the incident closes")
}

// notifyMessages collects the message of every Notify activity started, as
// the workflow rendered it, link markers and all.
func (s *IncidentSuite) notifyMessages() *[]string {
	var msgs []string
	s.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, args converter.EncodedValues) {
		if info.ActivityType.Name != "Notify" {
			return
		}
		var in activities.NotifyInput
		s.Require().NoError(args.Get(&in))
		msgs = append(msgs, in.Message)
	})
	return &msgs
}

// A handler asks the DPO to approve the notice it is about to wait for,
// while the main sequence waits for the lead to approve publishing. The
// approve link in that message is for the notice (approval 2), but it
// names whatever waited when it was rendered: publishing (approval 1), the
// very mix-up the numbering was meant to end (a link sent for one approval
// gives another), and it does not give the notice at all.
func (s *IncidentSuite) TestApproveLinkInAHandlerNamesItsOwnApproval() {
	process := `
process: p
title: P
severities: [minor]
roles: [dpo, lead]
signals: [draft_ready]
steps:
  - name: Publish
    approval: {role: lead}
  - wait: {for: status == "closed"}
on:
  signal:draft_ready:
    - notify: {to: [channel:ops], message: "Approve the notice: {{ .Links.Approve }}"}
    - name: Notice
      approval: {role: dpo}
`
	msgs := s.notifyMessages()
	s.update(time.Minute, workflows.UpdateSignal, workflows.SignalInput{Name: "draft_ready", By: "alice"}, "")
	s.env.RegisterDelayedCallback(func() {
		var seqs []int
		for _, p := range s.state().Approvals {
			if p.Step == "Notice" {
				seqs = append(seqs, p.Seq)
			}
		}
		s.Equal([]int{2}, seqs, "the notice is the incident's second approval")
	}, 2*time.Minute)
	s.update(time.Hour, workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "closed", By: "alice"}, "")
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input(process, "minor", nil))
	s.NoError(s.env.GetWorkflowError())
	s.Equal([]string{"Approve the notice: " + dsl.LinkMarker(dsl.LinkApprove, "2")}, *msgs,
		"the link names the notice it was sent for, not publishing, which merely waited then")
}

// A message asking for the approvals of a parallel step comes before it,
// when none waits: its link names only the next to begin, so it gives one
// of the two approvals it was sent for.
func (s *IncidentSuite) TestApproveLinkBeforeParallelApprovalsNamesBoth() {
	process := `
process: p
title: P
severities: [minor]
roles: [dpo]
steps:
  - notify: {to: [channel:ops], message: "Approve the notice and the statement: {{ .Links.Approve }}"}
  - parallel:
      - name: Notice
        approval: {role: dpo}
      - name: Statement
        approval: {role: dpo}
  - wait: {for: status == "closed"}
`
	msgs := s.notifyMessages()
	s.update(time.Hour, workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "closed", By: "alice"}, "")
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input(process, "minor", nil))
	s.NoError(s.env.GetWorkflowError())
	s.Equal([]string{"Approve the notice and the statement: " + dsl.LinkMarker(dsl.LinkApprove, "1,2")}, *msgs,
		"the link gives both approvals its message asked for")
}

// refusing is a store that refuses, for good, any change whose events
// carry a word, as PostgreSQL refuses a value it cannot hold (a string too
// long for its column, a row too large for its index): an error that is
// not its being away, so the store does not call it EUNAVAILABLE.
type refusing struct {
	*memStore
	word string
}

func (r *refusing) ApplyChange(ctx context.Context, c incidentflow.Change) error {
	for _, e := range c.Events {
		if strings.Contains(e.Message, r.word) {
			return fmt.Errorf("insert event: %w", errors.New("pq: index row size 3192 exceeds btree version 4 maximum 2704"))
		}
	}
	return r.memStore.ApplyChange(ctx, c)
}

// The recorder tries on after a week only while the store is away: a
// change the store refuses for good (not EUNAVAILABLE, yet not marked
// permanent either) must not hold every change after it back for ever. As
// it is, the closing of the incident never reaches the store, every
// update waits for its flush, and the run can never continue as new.
func (s *IncidentSuite) TestRecorderIsNotWedgedByAChangeTheStoreRefuses() {
	s.acts.Store = &refusing{memStore: s.store, word: "core dump"}
	process := `
process: p
title: P
severities: [minor]
steps:
  - wait: {for: status == "closed"}
`
	s.update(time.Minute, workflows.UpdateAddNote, workflows.AddNoteInput{Text: "pasted the core dump", By: "alice"}, "")
	s.update(time.Hour, workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "closed", By: "alice"}, "")
	s.env.SetWorkflowRunTimeout(10 * 24 * time.Hour)
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input(process, "minor", nil))
	s.NoError(s.env.GetWorkflowError(), "the run ends once the incident is closed")
	s.Equal("closed", s.store.lastStatus(), "the closing reached the store")
}

// refusedFor refuses, for good, one person's deliveries (a webhook that
// answers 400), and records the rest.
type refusedFor struct {
	*recorder
	person string
}

func (r *refusedFor) Send(ctx context.Context, m channels.Message) error {
	if m.Recipient != nil && m.Recipient.ID == r.person {
		return incidentflow.Errorf(incidentflow.EPERMANENT, "webhook answered 400: bad payload")
	}
	return r.recorder.Send(ctx, m)
}

// A page whose delivery to the one person of its level failed for good
// (the activity succeeds, reporting her in Failed) fails the step and does
// not count her as paged. The page reads only Recipients, old runs and new:
// the step says failed false and the timeline "Paged level 1 of exec
// (round 1): carol". (Older than the changes under review.)
func (s *IncidentSuite) TestPageRefusedForGoodIsAFailedPage() {
	s.acts.Channels["ops"] = &refusedFor{recorder: s.sent, person: "carol"}
	process := `
process: p
title: P
severities: [minor]
steps:
  - id: page
    page: {policy: exec, message: "m"}
  - notify: {to: [channel:ops], message: "page failed {{ .Steps.page.Output.failed }}"}
  - set: {status: closed}
`
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input(process, "minor", nil))
	s.NoError(s.env.GetWorkflowError())
	s.Contains(s.store.kinds(), "delivery_failed")
	s.Equal([]string{"ops: page failed true"}, s.sent.lines(), "carol's page failed for good: the step failed")
	for _, m := range s.store.messages("paged") {
		s.NotContains(m, ": carol;", "carol was never paged: %s", m)
	}
}
