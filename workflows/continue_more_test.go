package workflows_test

// Runs that continue as new carry everything on.

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/incidentflow/incidentflow/activities"
	"github.com/incidentflow/incidentflow/channels"
	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/workflows"
)

type timedUpdate struct {
	at   time.Duration
	name string
	arg  any
	// id is the update's ID (its name when empty); refused, when set, is
	// what its refusal must say.
	id, refused string
}

// runContinuing runs an incident of process from start, sending the updates
// at their times and saying the history is long at the times in long; each
// time the run continues as new, it starts the next run from the
// continuation, as the server would. It returns the store, what was sent
// (time, event, recipient), the messages, and how many times it continued.
func runContinuing(t *testing.T, process string, start time.Time, updates []timedUpdate, long []time.Duration) (*memStore, []string, []string, int) {
	return runContinuingFlaky(t, process, start, updates, long, false)
}

// runContinuingFlaky is runContinuing whose channel, when flaky, fails the
// first attempt of every delivery as a receiver that is briefly down would:
// the retry comes a second later.
func runContinuingFlaky(t *testing.T, process string, start time.Time, updates []timedUpdate, long []time.Duration, flaky bool) (*memStore, []string, []string, int) {
	t.Helper()
	var problems dsl.Problems
	dir := dsl.ParseDirectory("directory.yaml", []byte(testDirectory), &problems)
	require.Empty(t, problems)
	cat, err := dsl.Load(fstest.MapFS{"directory.yaml": {Data: []byte(testDirectory)}, "p.yaml": {Data: []byte(process)}}, "")
	require.NoError(t, err)
	p := cat.Processes["p"]
	in := workflows.Input{Incident: workflows.Declared{Ref: "INC-7", Type: "p", Title: "Long", Severity: p.Severities[0], Status: p.InitialStatus, DeclaredAt: start},
		Process: *p, ProcessHash: "h", HistoryLimit: 40, Features: workflows.Features}
	store := newMemStore()
	var sent, texts []string
	attempts := map[string]int{} // by delivery key, across runs
	now := start
	runs := 0
	for ; runs < 60; runs++ {
		var s testsuite.WorkflowTestSuite
		env := s.NewTestWorkflowEnvironment()
		env.SetStartTime(now)
		env.RegisterWorkflowWithOptions(workflows.IncidentWorkflow, workflow.RegisterOptions{Name: workflows.WorkflowName})
		c := &clocked{now: env.Now, failFirst: flaky, attempts: attempts}
		env.RegisterActivity(&activities.Activities{Store: store, Directory: dir, Channels: map[string]channels.Sender{"ops": c}, Now: env.Now})
		for _, u := range updates {
			if at := start.Add(u.at); at.After(now) {
				env.RegisterDelayedCallback(func() {
					id := cmp.Or(u.id, u.name)
					env.UpdateWorkflow(u.name, id, &testsuite.TestUpdateCallback{
						OnAccept: func() {
							if u.refused != "" {
								t.Errorf("%s (%s) was taken; it should have been refused with %q", u.name, id, u.refused)
							}
						},
						OnComplete: func(any, error) {},
						OnReject: func(err error) {
							if u.refused == "" || !strings.Contains(err.Error(), u.refused) {
								t.Errorf("%s (%s) refused: %v", u.name, id, err)
							}
						}}, u.arg)
				}, at.Sub(now))
			}
		}
		for _, l := range long {
			if at := start.Add(l); at.After(now) {
				env.RegisterDelayedCallback(func() {
					env.SetCurrentHistoryLength(1000)
					env.UpdateWorkflow(workflows.UpdateAddNote, fmt.Sprintf("long@%d", l), &testsuite.TestUpdateCallback{OnAccept: func() {}, OnComplete: func(any, error) {},
						OnReject: func(err error) { t.Errorf("note refused: %v", err) }}, workflows.AddNoteInput{Text: "the history is long"})
				}, at.Sub(now))
				break
			}
		}
		env.ExecuteWorkflow(workflows.WorkflowName, in)
		sent = append(sent, c.sent...)
		for _, m := range c.msgs {
			texts = append(texts, m.Message)
		}
		now = env.Now()
		var can *workflow.ContinueAsNewError
		err := env.GetWorkflowError()
		if !errors.As(err, &can) {
			require.NoError(t, err)
			break
		}
		in = workflows.Input{}
		require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &in))
		require.NotNil(t, in.Continued)
	}
	return store, sent, texts, runs
}

// People's waits carried across runs: a parallel step's approval, task and
// signal wait, a handler fired mid-incident, and a review rescheduled.
func TestContinueAsNewCarriesPeoplesWaits(t *testing.T) {
	process := `
process: p
title: P
severities: [critical]
roles: [lead, dpo]
signals: [contained]
steps:
  - set: {roles: {lead: carol, dpo: bob}}
  - parallel:
      - name: Approve
        approval: {role: dpo, timeout: 1d}
      - name: Fix
        task: {owner: role:lead, title: "Fix it", wait: true}
      - name: Contained
        wait: {signal: contained, timeout: 1d}
  - id: rv
    name: Review
    review: {within: 5 business days, attendees: [role:lead], remind_before: [1h]}
  - notify: {to: [channel:ops], message: "reviewed: {{ .Steps.rv.Output.write_up }}"}
  - set: {status: closed}
on:
  signal:contained:
    - sleep: {for: 30m}
    - notify: {to: [channel:ops], message: "contained half an hour ago"}
`
	start := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC) // a Thursday
	updates := []timedUpdate{
		{at: time.Hour, name: workflows.UpdateApprove, arg: workflows.ApproveInput{By: "bob"}},
		{at: 2 * time.Hour, name: workflows.UpdateSignal, arg: workflows.SignalInput{Name: "contained"}},
		{at: 3 * time.Hour, name: workflows.UpdateCompleteTask, arg: workflows.CompleteTaskInput{Task: "INC-7-T1", By: "carol"}},
		// The review is scheduled for Friday 12:00; moved to Monday 10:00, held at 11:00.
		{at: 4 * time.Hour, name: workflows.UpdateRescheduleReview, arg: workflows.RescheduleReviewInput{By: "carol", Start: time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)}},
		{at: 4*24*time.Hour + 2*time.Hour, name: workflows.UpdateReviewHeld, arg: workflows.ReviewHeldInput{By: "carol", WriteUp: "https://wiki/INC-7"}},
	}
	long := []time.Duration{30 * time.Minute, 90 * time.Minute, 2*time.Hour + 10*time.Minute, 3*time.Hour + 30*time.Minute, 5 * time.Hour, 3 * 24 * time.Hour}
	store, sent, texts, runs := runContinuing(t, process, start, updates, long)
	require.Equal(t, len(long), runs)
	require.Equal(t, []string{
		"Thu 26 09:00 notify carol",   // the task's owner told
		"Thu 26 11:30 notify ops",     // the handler, after its sleep across a new run
		"Thu 26 12:00 review carol",   // invited once the parallel step ended
		"Thu 26 13:00 review carol",   // moved
		"Mon 30 09:00 reminder carol", // an hour before the new time
		"Mon 30 11:00 notify ops",     // held
	}, sent)
	require.Equal(t, "reviewed: https://wiki/INC-7", texts[len(texts)-1])
	require.Equal(t, "closed", store.lastStatus())
}

func TestStartOptions(t *testing.T) {
	opts := workflows.StartOptions(workflows.Input{Incident: workflows.Declared{Ref: "INC-42", Type: "security", Severity: "critical",
		Title: "Suspicious admin logins", Status: "investigating"}})
	require.Equal(t, "incident-INC-42", opts.ID)
	require.Equal(t, "incidents", opts.TaskQueue)
	require.True(t, opts.WorkflowExecutionErrorWhenAlreadyStarted, "a second start is an error callers can tell from a start")
	require.Equal(t, "INC-42 · security · critical · Suspicious admin logins", opts.StaticSummary)
	v, ok := opts.TypedSearchAttributes.GetKeyword(workflows.AttrStatus)
	require.True(t, ok)
	require.Equal(t, "investigating", v)
	require.True(t, strings.Contains(opts.StaticDetails, "Suspicious admin logins"))

	// Whoever can open the Temporal UI does not read a restricted incident's title or summary there.
	restricted := workflows.StartOptions(workflows.Input{Incident: workflows.Declared{Ref: "INC-43", Type: "privacy", Severity: "high",
		Title: "Health records of 3,000 patients mailed out", Summary: "names and diagnoses"},
		Process: dsl.Process{Visibility: &dsl.Visibility{Restricted: true}}})
	require.Equal(t, "INC-43 · privacy · high · restricted incident", restricted.StaticSummary)
	require.NotContains(t, restricted.StaticDetails, "Health records")
	require.NotContains(t, restricted.StaticDetails, "diagnoses")
}

// A run that continues as new mid-escalation, with a deadline, a repeat and
// a wait also running, carries everything across: the escalation pages level
// 2 on time, the acknowledgement stops it, the reminder and the missed
// deadline come at their times, the rounds keep their rhythm. The test
// environment does not count history, so the test says when it is long (and
// wakes the run with a note), at moments chosen to catch every kind of wait;
// each new run is started here from the continuation, as the server would.
func TestContinueAsNewCarriesEverything(t *testing.T) {
	process := `
process: p
title: P
severities: [critical, minor]
roles: [lead]
steps:
  - set: {roles: {lead: carol}}
  - name: Clock
    background: true
    deadline: {title: Report, within: 2h, from: declared, remind_before: [1h], notify: [channel:ops]}
  - name: Rounds
    background: true
    repeat: {every: 20m, until: status == "resolved", steps: [{notify: {to: [channel:ops], message: "round"}}]}
  - id: page
    name: Page
    page: {policy: sre-oncall, message: "page"}
  - notify: {to: [channel:ops], message: "acknowledged by {{ .Steps.page.Output.by }} at level {{ .Steps.page.Output.level }}"}
  - id: resolved
    wait: {for: status == "resolved", timeout: 1d}
  - set: {status: closed}
`
	start := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	updates := []timedUpdate{
		{at: 7 * time.Minute, name: workflows.UpdateAcknowledge, arg: workflows.AcknowledgeInput{By: "dan"}},
		{at: 3 * time.Hour, name: workflows.UpdateSetStatus, arg: workflows.SetStatusInput{Status: "resolved", By: "dan"}},
	}
	long := []time.Duration{2 * time.Minute, 6 * time.Minute, 30 * time.Minute, 65 * time.Minute, 150 * time.Minute}
	store, sent, texts, runs := runContinuing(t, process, start, updates, long)
	require.Equal(t, len(long), runs, "one new run each time the history was long")

	count := func(prefix string) int {
		n := 0
		for _, l := range sent {
			if strings.HasPrefix(l, prefix) {
				n++
			}
		}
		return n
	}
	// The page: level 1 at once, level 2 five minutes later, then nothing:
	// the acknowledgement at 7m stopped it, and it says so.
	require.Equal(t, 1, count("Thu 26 09:00 page alice"), sent)
	require.Equal(t, 1, count("Thu 26 09:05 page bob"), sent)
	require.Equal(t, 1, count("Thu 26 09:05 page alice"), sent)
	require.Equal(t, 3, count("Thu 26 09:0")-count("Thu 26 09:00 notify")-count("Thu 26 09:07"), "no other page: %v", sent)
	require.Equal(t, 1, count("Thu 26 09:07 notify ops"), "acknowledged at level 2, once: %v", sent)
	// The deadline's reminder an hour before it is due (with a round), once.
	require.Equal(t, 2, count("Thu 26 10:00 notify ops"), sent)
	reminders := 0
	for _, m := range texts {
		if strings.HasPrefix(m, "Reminder: Report for INC-7") {
			reminders++
		}
	}
	require.Equal(t, 1, reminders, texts)
	rounds := 0
	for _, m := range texts {
		if m == "round" {
			rounds++
		}
	}
	require.Equal(t, 9, rounds, "nine rounds, 09:00 to 11:40, each once: %v", sent)
	// Rounds every 20 minutes until the resolution at 12:00, each once.
	for m := 0; m < 180; m += 20 {
		at := start.Add(time.Duration(m) * time.Minute).Format("15:04")
		require.GreaterOrEqual(t, count("Thu 26 "+at+" notify ops"), 1, "round at %s: %v", at, sent)
	}
	var kinds []string
	for _, k := range store.kinds() {
		if k == "deadline_missed" || k == "continued" || k == "acknowledged" {
			kinds = append(kinds, k)
		}
	}
	require.Contains(t, kinds, "deadline_missed")
	require.Contains(t, kinds, "continued")
	require.Equal(t, "closed", store.lastStatus())
	missed := false
	for _, e := range store.events {
		if e.Kind == "deadline_missed" {
			require.Equal(t, start.Add(2*time.Hour), e.At.UTC(), "missed at its due time, across runs")
			missed = true
		}
	}
	require.True(t, missed)
}

// An update the run carried out, sent again under its ID after the run
// continued as new (its answer was lost, say), is not carried out again:
// Temporal answers a repeated ID only within a run, and the new run knows
// the ID from the one before.
func TestAnUpdateIsNotCarriedOutAgainInTheNextRun(t *testing.T) {
	process := `
process: p
title: P
severities: [critical]
steps:
  - wait: {for: status == "resolved", timeout: 1d}
  - set: {status: closed}
`
	start := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	note := workflows.AddNoteInput{Text: "failed over", By: "alice"}
	updates := []timedUpdate{
		{at: time.Minute, name: workflows.UpdateAddNote, arg: note, id: "key-same"},
		{at: time.Hour, name: workflows.UpdateAddNote, arg: note, id: "key-same", refused: "already took this change"},
		{at: 2 * time.Hour, name: workflows.UpdateAddNote, arg: note, id: "key-other"},
		{at: 3 * time.Hour, name: workflows.UpdateSetStatus, arg: workflows.SetStatusInput{Status: "resolved", By: "alice"}},
	}
	store, _, _, runs := runContinuing(t, process, start, updates, []time.Duration{30 * time.Minute})
	require.Equal(t, 1, runs)
	require.Len(t, store.messages("note"), 2, "the note under key-same once, under key-other once")
}
