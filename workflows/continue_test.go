package workflows_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/proto"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/workflows"
)

// A run that continues as new while a delivery is being sent, retried, or
// about to be sent, drops nothing and sends nothing twice: the task's owner
// is told, the review's invitation and reminder go out, every reminder of a
// deadline arrives, each exactly once. The receiver fails each first
// attempt, so every delivery is in flight for a second of workflow time,
// and the history turns long at instants swept across each delivery: just
// before it, as its timer fires, while its retry waits.
func TestContinueAsNewDropsNoDelivery(t *testing.T) {
	process := `
process: p
title: P
severities: [critical]
roles: [lead]
steps:
  - set: {roles: {lead: carol}}
  - name: Clock
    background: true
    deadline: {title: Report, within: 3h, from: declared, remind_before: [2h, 1h], notify: [channel:ops]}
  - name: Fix
    task: {owner: role:lead, title: "Fix it"}
  - name: Review
    review: {within: 5 business days, attendees: [role:lead], remind_before: [1h]}
  - set: {status: closed}
`
	start := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC) // a Thursday; the review is Friday 09:00
	updates := []timedUpdate{{at: 25 * time.Hour, name: workflows.UpdateReviewHeld, arg: workflows.ReviewHeldInput{By: "carol"}}}
	want := []string{
		"Thu 26 09:00 notify carol",   // the task's owner
		"Thu 26 09:00 review carol",   // the invitation
		"Thu 26 10:00 notify ops",     // the deadline's first reminder (2h before)
		"Thu 26 11:00 notify ops",     // its second (1h before)
		"Fri 27 08:30 reminder carol", // an hour before the review (09:30: the task took its retry)
	}
	deliveries := []time.Duration{0, time.Second, time.Hour, 2 * time.Hour, 23*time.Hour + 30*time.Minute}
	for _, offset := range []time.Duration{-time.Millisecond, 0, time.Millisecond, 500 * time.Millisecond, 1500 * time.Millisecond} {
		t.Run(fmt.Sprintf("long%+v", offset), func(t *testing.T) {
			var long []time.Duration
			for _, d := range deliveries {
				if d+offset > 0 {
					long = append(long, d+offset)
				}
			}
			store, sent, _, runs := runContinuingFlaky(t, process, start, updates, long, true)
			require.Positive(t, runs, "the run continued as new")
			var got []string
			for _, l := range sent {
				if !strings.Contains(l, "notify ops") || strings.HasPrefix(l, "Thu 26 1") {
					got = append(got, l)
				}
			}
			require.Equal(t, want, got, "every delivery once, at its time (give or take its retry): %v", sent)
			require.Equal(t, "closed", store.lastStatus())
		})
	}
}

// No request can make a run too big for Temporal. Whatever requests carry
// within the limits — fields up to their bound, the longest notes, the
// largest payload on every signal — the run's state (every update's answer
// and every state query) and the input of its next run stay far below
// Temporal's 2 MB a payload; and the run itself refuses what is beyond the
// limits, whoever sends it.
func (s *IncidentSuite) TestNoRequestMakesTheRunTooBig() {
	process := `
process: p
title: P
severities: [critical]
fields:
  notes: {type: text}
  systems: {type: list}
signals: [a, b, c, d, e, f]
steps:
  - wait: {signal: a}
`
	long := strings.Repeat("€", incidentflow.MaxText) // three bytes a character
	systems := make([]any, 5)
	for i := range systems {
		systems[i] = strings.Repeat("s", 1000)
	}
	in := s.input(process, "critical", map[string]any{"notes": long, "systems": systems})
	payload := map[string]any{"blob": strings.Repeat("p", incidentflow.MaxPayload-20)}
	at := time.Minute
	for i := range 25 {
		s.update(at, workflows.UpdateAddNote, workflows.AddNoteInput{Text: long, By: fmt.Sprintf("person%d", i)}, "")
		at += time.Minute
	}
	for _, sig := range []string{"b", "c", "d", "e", "f"} {
		s.update(at, workflows.UpdateSignal, workflows.SignalInput{Name: sig, By: "alice", Payload: payload}, "")
		at += time.Minute
	}
	s.update(at, workflows.UpdateAddNote, workflows.AddNoteInput{Text: long + "x"}, "text is 10001 characters long")
	s.update(at, workflows.UpdateSignal, workflows.SignalInput{Name: "b", Payload: map[string]any{"blob": strings.Repeat("p", incidentflow.MaxPayload)}}, "payload is 4107 bytes of JSON")
	s.update(at, workflows.UpdateAcknowledge, workflows.AcknowledgeInput{By: "ali\nce"}, "by must be one line")
	var stateSize int
	s.env.RegisterDelayedCallback(func() {
		v, err := s.env.QueryWorkflow(workflows.QueryState)
		s.Require().NoError(err)
		var raw json.RawMessage
		s.Require().NoError(v.Get(&raw))
		stateSize = len(raw)
		// The history is long now: the run continues as new with all of it.
		s.env.SetCurrentHistoryLength(workflows.DefaultHistoryLimit + 1)
		s.update(0, workflows.UpdateAddNote, workflows.AddNoteInput{Text: "the last straw"}, "")
	}, at+time.Minute)
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, in)

	var can *workflow.ContinueAsNewError
	s.Require().ErrorAs(s.env.GetWorkflowError(), &can)
	next := proto.Size(can.Input)
	s.T().Logf("state %d bytes, next run's input %d bytes", stateSize, next)
	s.Less(stateSize, 256<<10, "the state answers every update: a quarter of a megabyte at most")
	s.Less(next, 512<<10, "the next run's input: half a megabyte at most")
}
