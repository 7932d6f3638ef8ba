package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/stretchr/testify/suite"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/activities"
	"github.com/incidentflow/incidentflow/channels"
	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/processes"
	"github.com/incidentflow/incidentflow/store"
	"github.com/incidentflow/incidentflow/workflows"
)

// memStore records what activities write, in memory.
type memStore struct {
	mu         sync.Mutex
	changes    []incidentflow.Change
	events     map[string]incidentflow.TimelineEvent
	deliveries map[string]store.Delivery
	// down, when set, says whether the store is unreachable now.
	down func() bool
}

func newMemStore() *memStore {
	return &memStore{events: map[string]incidentflow.TimelineEvent{}, deliveries: map[string]store.Delivery{}}
}

func (m *memStore) ApplyChange(_ context.Context, c incidentflow.Change) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down != nil && m.down() {
		return &incidentflow.Error{Code: incidentflow.EUNAVAILABLE, Message: "the database is unreachable"}
	}
	m.changes = append(m.changes, c)
	for _, e := range c.Events {
		m.events[e.DedupKey] = e
	}
	return nil
}

func (m *memStore) BeginDelivery(_ context.Context, d store.Delivery) (store.Delivery, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.deliveries[d.Key]; ok {
		return old, nil
	}
	d.Status = store.DeliveryPending
	m.deliveries[d.Key] = d
	return d, nil
}

func (m *memStore) FinishDelivery(_ context.Context, key, status, reason string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	d := m.deliveries[key]
	d.Status, d.Error = status, reason
	m.deliveries[key] = d
	return nil
}

func (m *memStore) Deliveries(_ context.Context, ref, status string) ([]store.Delivery, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Delivery
	for _, k := range slices.Sorted(maps.Keys(m.deliveries)) {
		if d := m.deliveries[k]; d.Ref == ref && d.Status == status {
			out = append(out, d)
		}
	}
	return out, nil
}

// kinds lists the timeline event kinds in the order they were recorded.
func (m *memStore) kinds() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, c := range m.changes {
		for _, e := range c.Events {
			out = append(out, e.Kind)
		}
	}
	return out
}

// messages lists the messages of the timeline events of a kind, in order.
func (m *memStore) messages(kind string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, c := range m.changes {
		for _, e := range c.Events {
			if e.Kind == kind {
				out = append(out, e.Message)
			}
		}
	}
	return out
}

func (m *memStore) lastStatus() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.changes[len(m.changes)-1].Status
}

// recorder is a channel sender that keeps what it was asked to send.
type recorder struct {
	mu   sync.Mutex
	sent []channels.Message
}

func (r *recorder) Send(_ context.Context, m channels.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, m)
	return nil
}

func (r *recorder) lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, m := range r.sent {
		to := m.Channel
		if m.Recipient != nil {
			to = m.Recipient.ID
		}
		out = append(out, to+": "+m.Message)
	}
	return out
}

const testDirectory = `
people:
  - {id: alice, name: Alice}
  - {id: bob, name: Bob}
  - {id: carol, name: Carol}
teams:
  - {id: sre, members: [alice, bob]}
schedules:
  - id: primary
    timezone: Europe/London
    rotation: {every: 1w, handoff: "2026-11-23T09:00", members: [alice, bob]}
policies:
  - id: sre-oncall
    levels:
      - {targets: [schedule:primary], ack_within: 5m}
      - {targets: [person:bob, team:sre], ack_within: 10m}
    repeat: 1
  - id: exec
    levels:
      - {targets: [person:carol], ack_within: 15m}
channels:
  - {id: ops, type: console}
  - {id: broken, type: console}   # no sender on the test worker: deliveries fail for good
default_channel: ops
`

type IncidentSuite struct {
	suite.Suite
	testsuite.WorkflowTestSuite
	env   *testsuite.TestWorkflowEnvironment
	store *memStore
	sent  *recorder
	acts  *activities.Activities
}

func TestIncidentWorkflow(t *testing.T) { suite.Run(t, new(IncidentSuite)) }

func (s *IncidentSuite) SetupTest() {
	s.env = s.NewTestWorkflowEnvironment()
	s.env.SetStartTime(time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC))
	s.store = newMemStore()
	s.sent = &recorder{}
	var problems dsl.Problems
	dir := dsl.ParseDirectory("directory.yaml", []byte(testDirectory), &problems)
	s.Require().Empty(problems)
	// Activities stamp what they do with the test's clock: the test
	// environment starts them at the wall clock's time.
	s.acts = &activities.Activities{Store: s.store, Directory: dir, Channels: map[string]channels.Sender{"ops": s.sent}, Now: s.env.Now}
	s.env.RegisterWorkflowWithOptions(workflows.IncidentWorkflow, workflow.RegisterOptions{Name: workflows.WorkflowName})
	s.env.RegisterActivity(s.acts)
}

func (s *IncidentSuite) AfterTest(_, _ string) { s.env.AssertExpectations(s.T()) }

// registerDirectory replaces the test directory with dir, every channel of it
// delivering to the recorder.
func (s *IncidentSuite) registerDirectory(dir *dsl.Directory) {
	senders := map[string]channels.Sender{}
	for _, c := range dir.Channels {
		senders[c.ID] = s.sent
	}
	s.acts.Directory, s.acts.Channels = dir, senders
}

// input compiles a process written in the test and declares an incident of it.
func (s *IncidentSuite) input(process string, severity string, fields map[string]any) workflows.Input {
	cat, err := dsl.Load(fstest.MapFS{
		"directory.yaml": {Data: []byte(testDirectory)},
		"p.yaml":         {Data: []byte(process)},
	}, "")
	s.Require().NoError(err)
	p := cat.Processes["p"]
	checked, errs := p.CheckFields(fields)
	s.Require().Empty(errs)
	return workflows.Input{
		Incident: workflows.Declared{Ref: "INC-7", Type: "p", Title: "Checkout is down", Severity: severity, Status: p.InitialStatus,
			Fields: checked, DeclaredBy: "carol", DeclaredAt: s.env.Now()},
		Process: *p, ProcessHash: cat.Sources["p"].Hash, Links: dsl.Links{Incident: "http://api/v1/incidents/INC-7"},
	}
}

// update sends an update at the given offset of workflow time and checks its outcome.
func (s *IncidentSuite) update(after time.Duration, name string, arg any, wantErr string) {
	s.env.RegisterDelayedCallback(func() {
		s.env.UpdateWorkflow(name, name+after.String(), &testsuite.TestUpdateCallback{
			OnReject: func(err error) {
				if wantErr == "" {
					s.Fail("update refused", "%s: %v", name, err)
					return
				}
				s.Contains(err.Error(), wantErr)
			},
			OnAccept: func() {
				if wantErr != "" {
					s.Fail("update accepted", "%s should have been refused with %q", name, wantErr)
				}
			},
			OnComplete: func(any, error) {},
		}, arg)
	}, after)
}

func (s *IncidentSuite) state() workflows.State {
	v, err := s.env.QueryWorkflow(workflows.QueryState)
	s.Require().NoError(err)
	var st workflows.State
	s.Require().NoError(v.Get(&st))
	return st
}

const basicProcess = `
process: p
title: P
severities: [critical, major, minor]
fields:
  customer_impact: {type: bool, default: true}
roles: [lead]
steps:
  - id: announce
    name: Announce
    notify: {to: [channel:ops], message: "[{{ .Incident.Severity }}] {{ .Incident.Ref }} {{ .Incident.Title }}"}
  - name: Tell support
    if: fields.customer_impact && severity_at_least("major")
    notify: {to: [team:sre], message: "customers affected"}
  - id: ack
    name: Wait for an acknowledgement
    wait:
      for: incident.acknowledged
      timeout: 15m
      on_timeout:
        - notify: {to: [person:alice], message: "nobody acknowledged {{ .Incident.Ref }}"}
  - name: Wait until resolved
    wait: {for: status == "resolved"}
  - notify: {to: [channel:ops], message: "{{ .Incident.Ref }} resolved (ack timed out: {{ .Steps.ack.Output.timed_out }})"}
  - set: {status: closed}
`

func (s *IncidentSuite) TestAcknowledgedThenResolved() {
	s.update(5*time.Minute, workflows.UpdateAcknowledge, workflows.AcknowledgeInput{By: "alice"}, "")
	s.update(6*time.Minute, workflows.UpdateAcknowledge, workflows.AcknowledgeInput{By: "bob"}, "already acknowledged by alice")
	s.update(7*time.Minute, workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "no-such-status"}, `unknown status "no-such-status"`)
	s.env.RegisterDelayedCallback(func() {
		st := s.state()
		s.Equal("alice", st.Acknowledged.By)
		s.Equal([]workflows.Activity{{Step: "Wait until resolved", Kind: "wait", Waiting: `waiting until status == "resolved"`}}, st.Active)
	}, 8*time.Minute)
	s.update(2*time.Hour, workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "resolved", By: "bob"}, "")
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input(basicProcess, "critical", nil))

	s.True(s.env.IsWorkflowCompleted())
	s.NoError(s.env.GetWorkflowError())
	s.Equal([]string{
		"ops: [critical] INC-7 Checkout is down",
		"alice: customers affected",
		"bob: customers affected",
		"ops: INC-7 resolved (ack timed out: false)",
	}, s.sent.lines())
	s.ElementsMatch([]string{"declared", "delivered", "delivered", "delivered", "acknowledged", "status_changed", "delivered", "status_changed"}, s.store.kinds())
	s.Equal("closed", s.store.lastStatus())
}

func (s *IncidentSuite) TestConditionFalseSkipsStepAndTimeoutRunsOnTimeout() {
	s.update(3*time.Hour, workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "resolved"}, "")
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input(basicProcess, "minor", map[string]any{"customer_impact": true}))

	s.NoError(s.env.GetWorkflowError())
	s.Equal([]string{
		"ops: [minor] INC-7 Checkout is down",
		"alice: nobody acknowledged INC-7",
		"ops: INC-7 resolved (ack timed out: true)",
	}, s.sent.lines())
	s.Contains(s.store.kinds(), "step_skipped")
	s.Contains(s.store.kinds(), "wait_timed_out")
}

func (s *IncidentSuite) TestUpdateDuringWaitEndsItAtOnce() {
	// The acknowledgement arrives one second before the 15-minute timeout fires.
	s.update(15*time.Minute-time.Second, workflows.UpdateAcknowledge, workflows.AcknowledgeInput{By: "bob"}, "")
	s.update(time.Hour, workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "resolved"}, "")
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input(basicProcess, "minor", nil))
	s.NoError(s.env.GetWorkflowError())
	s.NotContains(s.store.kinds(), "wait_timed_out")
}

// An update at the very instant a wait times out. The test environment
// delivers the timer first, in its own task: the wait times out, on_timeout
// runs, and the acknowledgement still counts for the rest of the process, the
// same on every replay. (When the server delivers both in one task, the wait
// re-checks its condition after the timer, so the update wins.)
func (s *IncidentSuite) TestUpdateAtTheTimeoutInstant() {
	s.update(15*time.Minute, workflows.UpdateAcknowledge, workflows.AcknowledgeInput{By: "bob"}, "")
	s.update(time.Hour, workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "resolved"}, "")
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input(basicProcess, "minor", nil))
	s.NoError(s.env.GetWorkflowError())
	s.Equal([]string{
		"ops: [minor] INC-7 Checkout is down",
		"alice: nobody acknowledged INC-7",
		"ops: INC-7 resolved (ack timed out: true)",
	}, s.sent.lines())
	s.Contains(s.store.kinds(), "acknowledged")
}

func (s *IncidentSuite) TestSignalWaitAndClosedIncidentRefusesUpdates() {
	process := `
process: p
title: P
severities: [high, low]
signals: [contained]
steps:
  - id: contained
    wait: {signal: contained, timeout: 4h}
  - if: steps.contained.output.signal == "contained"
    set: {severity: low}
  - wait: {for: status == "closed"}
`
	s.update(time.Hour, workflows.UpdateSignal, workflows.SignalInput{Name: "contained", By: "carol"}, "")
	s.update(time.Hour+time.Minute, workflows.UpdateSignal, workflows.SignalInput{Name: "containd"}, `p incidents take no signal "containd": their signals are contained`)
	s.env.RegisterDelayedCallback(func() {
		st := s.state()
		s.Equal("low", st.Severity)
		s.Equal(false, st.Outputs["contained"]["timed_out"])
	}, 2*time.Hour)
	s.update(3*time.Hour, workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "closed", By: "carol"}, "")
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input(process, "high", nil))
	s.NoError(s.env.GetWorkflowError())
	s.Equal("closed", s.store.lastStatus())
	s.Contains(s.store.kinds(), "severity_changed")
}

func (s *IncidentSuite) TestSleepUsesBusinessDays() {
	process := `
process: p
title: P
severities: [high]
steps:
  - name: Cool down
    sleep: {for: 2 business days}
  - notify: {to: [channel:ops], message: woke}
  - set: {status: closed}
`
	in := s.input(process, "high", nil)
	in.Calendar = &dsl.Calendar{Timezone: "Europe/London", Holidays: []string{"2026-11-30"}}
	var wokeAt time.Time
	s.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		if info.ActivityType.Name == "Notify" {
			wokeAt = s.env.Now()
		}
	})
	// Thursday 09:00 + 2 business days, Monday being a holiday: Tuesday 09:00.
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, in)
	s.NoError(s.env.GetWorkflowError())
	s.Equal(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC), wokeAt.UTC())
}

// Deliveries are skipped when an earlier attempt sent them.
func (s *IncidentSuite) TestRetriedNotifyDoesNotSendTwice() {
	process := `
process: p
title: P
severities: [high]
steps:
  - id: announce
    notify: {to: [channel:ops, person:alice], message: hello}
  - set: {status: closed}
`
	s.Require().NoError(func() error {
		_, err := s.store.BeginDelivery(context.Background(), store.Delivery{Key: "incident-INC-7/announce#1/channel:ops"})
		if err == nil {
			err = s.store.FinishDelivery(context.Background(), "incident-INC-7/announce#1/channel:ops", store.DeliverySent, "")
		}
		return err
	}())
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input(process, "high", nil))
	s.NoError(s.env.GetWorkflowError())
	s.Equal([]string{"alice: hello"}, s.sent.lines())
}

func (s *IncidentSuite) TestParallelRepeatAndBackground() {
	process := `
process: p
title: P
severities: [critical, minor]
steps:
  - id: reminders
    name: Status page reminders
    background: true
    repeat:
      every: 30m
      until: severity != "critical" || status == "resolved"
      steps:
        - notify: {to: [channel:ops], message: "update the status page"}
  - id: both
    parallel:
      - steps:
          - sleep: {for: 10m}
          - notify: {to: [person:alice], message: "branch one"}
      - notify: {to: [person:bob], message: "branch two"}
  - notify: {to: [channel:ops], message: "joined (failed: {{ .Steps.both.Output.failed }})"}
  - wait: {for: status == "resolved"}
  - set: {status: closed}
`
	// Severity drops after 70 minutes: rounds at 0, 30 and 60 minutes, then the repeat ends at once.
	s.update(70*time.Minute, workflows.UpdateSetSeverity, workflows.SetSeverityInput{Severity: "minor", By: "carol"}, "")
	s.update(70*time.Minute+time.Second, workflows.UpdateSetSeverity, workflows.SetSeverityInput{Severity: "minor"}, "already minor")
	s.env.RegisterDelayedCallback(func() {
		st := s.state()
		for _, act := range st.Active {
			s.NotEqual("repeat", act.Kind, "the repeat ended when its condition held")
		}
		s.Equal(false, st.Outputs["reminders"]["failed"])
	}, 80*time.Minute)
	s.update(2*time.Hour, workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "resolved"}, "")
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input(process, "critical", nil))
	s.NoError(s.env.GetWorkflowError())
	// Deliveries scheduled at the same instant run concurrently: compare as a set.
	s.ElementsMatch([]string{
		"ops: update the status page",
		"bob: branch two",
		"alice: branch one",
		"ops: joined (failed: false)",
		"ops: update the status page",
		"ops: update the status page",
	}, s.sent.lines())
}

func (s *IncidentSuite) TestHandlers() {
	process := `
process: p
title: P
severities: [critical, major, minor]
roles: [lead]
signals: [contained]
fields:
  personal_data: {type: bool, default: false}
steps:
  - sleep: {for: 1h}
  - set: {fields: {personal_data: true}}
  - wait: {for: status == "closed"}
on:
  severity_raised:
    - if: severity == "critical"
      notify: {to: [channel:ops], message: "now critical"}
  severity_lowered:
    - notify: {to: [role:lead], message: "lowered to {{ .Incident.Severity }}"}
  status_changed:
    - notify: {to: [channel:ops], message: "status {{ .Incident.Status }}"}
  field_changed:personal_data:
    - notify: {to: [channel:ops], message: "personal data: {{ .Fields.personal_data }}"}
  signal:contained:
    - notify: {to: [channel:ops], message: "contained"}
`
	s.update(time.Minute, workflows.UpdateAssignRole, workflows.AssignRoleInput{Role: "lead", Person: "bob", By: "carol"}, "")
	s.update(2*time.Minute, workflows.UpdateAssignRole, workflows.AssignRoleInput{Role: "comms", Person: "bob"}, `unknown role "comms"`)
	s.update(3*time.Minute, workflows.UpdateSetSeverity, workflows.SetSeverityInput{Severity: "major"}, "")
	s.update(4*time.Minute, workflows.UpdateSetSeverity, workflows.SetSeverityInput{Severity: "critical"}, "")
	s.update(5*time.Minute, workflows.UpdateSetSeverity, workflows.SetSeverityInput{Severity: "minor"}, "")
	s.update(6*time.Minute, workflows.UpdateSignal, workflows.SignalInput{Name: "contained"}, "")
	s.update(7*time.Minute, workflows.UpdateAddNote, workflows.AddNoteInput{Text: "rolled back the deploy", By: "bob"}, "")
	s.update(8*time.Minute, workflows.UpdateAddNote, workflows.AddNoteInput{Text: "  "}, "a note needs text")
	s.update(9*time.Minute, workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "fixing"}, "")
	s.update(2*time.Hour, workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "closed"}, "")
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input(process, "minor", nil))
	s.NoError(s.env.GetWorkflowError())
	s.ElementsMatch([]string{
		"ops: now critical",
		"bob: lowered to minor",
		"ops: contained",
		"ops: status fixing",
		"ops: personal data: true",
	}, s.sent.lines(), "raising minor to major fires severity_raised, whose if is false; closing fires nothing")
	s.Contains(s.store.kinds(), "note")
	s.Contains(s.store.kinds(), "role_assigned")
}

func (s *IncidentSuite) TestFailedStepsAndContinueOnError() {
	process := `
process: p
title: P
severities: [high]
steps:
  - id: strict
    parallel:
      - notify: {to: [channel:broken], message: "x"}
      - notify: {to: [channel:ops], message: "ok one"}
  - id: lenient
    continue_on_error: true
    parallel:
      - notify: {to: [channel:broken], message: "y"}
      - notify: {to: [channel:ops], message: "ok two"}
  - notify: {to: [channel:ops], message: "strict failed {{ .Steps.strict.Output.failed }}, lenient failed {{ .Steps.lenient.Output.failed }}"}
  - set: {status: closed}
`
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input(process, "high", nil))
	s.NoError(s.env.GetWorkflowError())
	s.Contains(s.sent.lines(), "ops: strict failed true, lenient failed false")
}

const clocksProcess = `
process: p
title: P
severities: [high]
fields:
  aware_at: {type: time}
signals: [regulator_notified, materiality_determined]
steps:
  - id: gdpr
    background: true
    deadline:
      title: GDPR Art. 33
      within: 72h
      from: field:aware_at
      remind_before: [48h, 24h, 4h]
      notify: [channel:ops]
      done_when: signal:regulator_notified
      overdue:
        - notify: {to: [person:alice], message: "missed (due {{ .Steps.gdpr.Output.due }})"}
  - id: sec
    background: true
    deadline:
      title: SEC 8-K
      within: 4 business days
      from: signal:materiality_determined
  - wait: {for: status == "closed"}
`

// clock returns the state's clock with the given title.
func clock(st workflows.State, title string) workflows.Clock {
	for _, c := range st.Clocks {
		if c.Title == title {
			return c
		}
	}
	return workflows.Clock{}
}

func (s *IncidentSuite) TestDeadlineMetBetweenReminders() {
	// Aware ten hours before the incident was declared: due 62h after declaration.
	aware := s.env.Now().Add(-10 * time.Hour)
	s.update(40*time.Hour, workflows.UpdateSignal, workflows.SignalInput{Name: "regulator_notified", By: "dan"}, "")
	s.env.RegisterDelayedCallback(func() {
		c := clock(s.state(), "GDPR Art. 33")
		s.Equal(workflows.ClockMet, c.Status)
		s.Equal(aware.Add(72*time.Hour).UTC(), c.Due.UTC())
		s.Equal(true, s.state().Outputs["gdpr"]["met"])
	}, 41*time.Hour)
	s.update(100*time.Hour, workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "closed"}, "")
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input(clocksProcess, "high", map[string]any{"aware_at": aware.Format(time.RFC3339)}))
	s.NoError(s.env.GetWorkflowError())
	// The 48h reminder (14h after declaration) and the 24h one (38h) went out;
	// the 4h one (58h) did not, the regulator being told at 40h.
	s.Equal([]string{
		"ops: Reminder: GDPR Art. 33 for INC-7 Checkout is down is due Sat 28 Nov 2026 23:00 UTC, in 48h. http://api/v1/incidents/INC-7",
		"ops: Reminder: GDPR Art. 33 for INC-7 Checkout is down is due Sat 28 Nov 2026 23:00 UTC, in 24h. http://api/v1/incidents/INC-7",
	}, s.sent.lines())
	s.Contains(s.store.kinds(), "deadline_met")
}

func (s *IncidentSuite) TestDeadlineMissedThenMetLate() {
	aware := s.env.Now()
	s.update(80*time.Hour, workflows.UpdateSignal, workflows.SignalInput{Name: "regulator_notified"}, "")
	s.env.RegisterDelayedCallback(func() {
		s.Equal(workflows.ClockMetLate, clock(s.state(), "GDPR Art. 33").Status)
	}, 81*time.Hour)
	s.update(90*time.Hour, workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "closed"}, "")
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input(clocksProcess, "high", map[string]any{"aware_at": aware.Format(time.RFC3339)}))
	s.NoError(s.env.GetWorkflowError())
	s.Contains(s.sent.lines(), "alice: missed (due 2026-11-29T09:00:00Z)")
	s.Contains(s.store.kinds(), "deadline_missed")
	s.Contains(s.store.kinds(), "deadline_met_late")
}

func (s *IncidentSuite) TestBusinessDayClockAcrossWeekendAndHolidays() {
	// Materiality determined Wednesday 23 December 2026 at 16:00 in London.
	s.env.SetStartTime(time.Date(2026, 12, 23, 9, 0, 0, 0, time.UTC))
	in := s.input(clocksProcess, "high", nil)
	in.Incident.DeclaredAt = s.env.Now()
	in.Calendar = &dsl.Calendar{Timezone: "Europe/London", Holidays: []string{"2026-12-25", "2026-12-28"}}
	s.update(7*time.Hour, workflows.UpdateSignal, workflows.SignalInput{Name: "materiality_determined", By: "cfo"}, "")
	s.env.RegisterDelayedCallback(func() {
		c := clock(s.state(), "SEC 8-K")
		// Thursday 24 is one; Friday 25 and Monday 28 are holidays; Tuesday 29, Wednesday 30, Thursday 31.
		s.Equal(time.Date(2026, 12, 31, 16, 0, 0, 0, time.UTC), c.Due.UTC())
		s.Equal(workflows.ClockOpen, c.Status)
		s.Equal("waiting for the time in field aware_at to start the clock", s.activeWaiting("GDPR Art. 33"))
	}, 8*time.Hour)
	s.env.RegisterDelayedCallback(func() {
		s.Equal(workflows.ClockMissed, clock(s.state(), "SEC 8-K").Status)
	}, 8*24*time.Hour+8*time.Hour)
	s.update(9*24*time.Hour, workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "closed"}, "")
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, in)
	s.NoError(s.env.GetWorkflowError())
}

// activeWaiting says what the named active step waits for.
func (s *IncidentSuite) activeWaiting(step string) string {
	for _, a := range s.state().Active {
		if a.Step == step {
			return a.Waiting
		}
	}
	return ""
}

// The built-in privacy process runs its GDPR Art. 33 clock from the moment of
// awareness, with reminders 48, 24 and 4 hours before and an escalation when missed.
func (s *IncidentSuite) TestBuiltInPrivacyClock() {
	cat, err := dsl.Load(processes.FS, "processes")
	s.Require().NoError(err)
	p := cat.Processes["privacy"]
	// Aware on the Wednesday before Christmas at 16:00 London; declared the next morning.
	aware := time.Date(2026, 12, 23, 16, 0, 0, 0, time.UTC)
	s.env.SetStartTime(time.Date(2026, 12, 24, 9, 0, 0, 0, time.UTC))
	fields, errs := p.CheckFields(map[string]any{"aware_at": aware.Format(time.RFC3339)})
	s.Require().Empty(errs)
	in := workflows.Input{Incident: workflows.Declared{Ref: "INC-9", Type: "privacy", Title: "Export leaked", Severity: "medium",
		Status: p.InitialStatus, Fields: fields, DeclaredAt: s.env.Now()}, Process: *p, ProcessHash: cat.Sources["privacy"].Hash,
		Calendar: cat.Directory.Calendar}
	s.registerDirectory(cat.Directory)
	s.update(80*time.Hour, workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "closed"}, "")
	s.env.RegisterDelayedCallback(func() {
		c := clock(s.state(), "Notify the supervisory authority (GDPR Art. 33)")
		s.Equal(time.Date(2026, 12, 26, 16, 0, 0, 0, time.UTC), c.Due.UTC(), "72 hours from awareness, holidays or not")
		s.Equal(workflows.ClockMissed, c.Status)
	}, 79*time.Hour)
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, in)
	s.NoError(s.env.GetWorkflowError())
	var reminders []string
	remind := regexp.MustCompile(`^legal-email: Reminder: Notify the supervisory authority .* is due Sat 26 Dec 2026 16:00 GMT, in (\w+)\.`)
	for _, l := range s.sent.lines() {
		if m := remind.FindStringSubmatch(l); m != nil {
			reminders = append(reminders, m[1])
		}
	}
	s.Equal([]string{"48h", "24h", "4h"}, reminders)
	s.Contains(strings.Join(s.sent.lines(), "\n"), "exec-updates: GDPR Art. 33 deadline missed for INC-9")
}

func (s *IncidentSuite) TestHTTPStep() {
	var calls []string
	var failNext int
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		calls = append(calls, fmt.Sprintf("%s %s auth=%s key=%s %s", r.Method, r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("Idempotency-Key"), body))
		switch {
		case r.URL.Path == "/bad":
			http.Error(w, `{"error":"no such project"}`, http.StatusBadRequest)
		case failNext > 0:
			failNext--
			http.Error(w, "try later", http.StatusServiceUnavailable)
		default:
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte(`{"key":"OPS-7","fields":{"links":[{"url":"https://jira/OPS-7"}]}}`))
		}
	}))
	defer server.Close()
	failNext = 1
	s.acts.Secrets = func(name string) string {
		return map[string]string{"INCIDENTFLOW_SECRET_JIRA_TOKEN": "Bearer s3cret"}[name]
	}
	process := `
process: p
title: P
severities: [high]
steps:
  - id: ticket
    name: Open a ticket
    retry: {attempts: 3, backoff: 1s}
    http:
      method: POST
      url: "` + server.URL + `/issue"
      secret_headers: {Authorization: INCIDENTFLOW_SECRET_JIRA_TOKEN}
      body: {summary: "{{ .Incident.Ref }} {{ .Incident.Title }}", labels: [incident, "{{ .Incident.Severity }}"]}
      expect: [201]
      output: {key: key, link: fields.links.0.url}
  - if: steps.ticket.output.status == 201 && steps.ticket.output.key == "OPS-7"
    notify: {to: [channel:ops], message: "ticket {{ .Steps.ticket.Output.key }} {{ .Steps.ticket.Output.link }}"}
  - id: bad
    http: {url: "` + server.URL + `/bad", body: {a: b}}
  - if: steps.bad.output.failed
    notify: {to: [channel:ops], message: "the second call failed"}
  - set: {status: closed}
`
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input(process, "high", nil))
	s.NoError(s.env.GetWorkflowError())
	s.Equal([]string{"ops: ticket OPS-7 https://jira/OPS-7", "ops: the second call failed"}, s.sent.lines())
	s.Require().Len(calls, 3, "one retry after the 503, none after the 400")
	s.Equal(`POST /issue auth=Bearer s3cret key=incident-INC-7/ticket#1 {"labels":["incident","high"],"summary":"INC-7 Checkout is down"}`, calls[0])
	s.Equal(calls[0], calls[1], "a retry sends the same request with the same idempotency key")
	s.Contains(s.store.kinds(), "http_called")
	s.Contains(s.store.kinds(), "http_failed")
	s.Contains(s.store.kinds(), "step_failed")
}

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

func (s *IncidentSuite) TestApproval() {
	process := `
process: p
title: P
severities: [high]
roles: [dpo, lead]
steps:
  - id: notice
    name: DPO approves the notice to data subjects
    approval:
      role: dpo
      timeout: 1d
      on_timeout:
        - notify: {to: [channel:ops], message: "the DPO has not approved"}
  - if: steps.notice.output.approved
    notify: {to: [channel:ops], message: "approved by {{ .Steps.notice.Output.by }}"}
  - id: second
    approval: {role: dpo, timeout: 1h}
  - notify: {to: [channel:ops], message: "second timed out: {{ .Steps.second.Output.timed_out }}"}
  - set: {status: closed}
`
	s.update(time.Minute, workflows.UpdateApprove, workflows.ApproveInput{By: "dan"}, "dan cannot approve: DPO approves the notice to data subjects needs the dpo (nobody yet: assign the role first)")
	s.update(2*time.Minute, workflows.UpdateAssignRole, workflows.AssignRoleInput{Role: "dpo", Person: "erin"}, "")
	s.update(3*time.Minute, workflows.UpdateApprove, workflows.ApproveInput{By: "dan"}, "dan cannot approve: DPO approves the notice to data subjects needs the dpo (erin)")
	s.update(4*time.Minute, workflows.UpdateApprove, workflows.ApproveInput{By: "erin", Note: "risk is high; tell them"}, "")
	s.update(5*time.Minute, workflows.UpdateApprove, workflows.ApproveInput{By: "erin", Step: "nothing"}, `no approval named "nothing" waits`)
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input(process, "high", nil))
	s.NoError(s.env.GetWorkflowError())
	s.Equal([]string{"ops: approved by erin", "ops: second timed out: true"}, s.sent.lines())
	s.Contains(s.store.kinds(), "approved")
	s.Contains(s.store.kinds(), "approval_timed_out")
}

func (s *IncidentSuite) TestTask() {
	process := `
process: p
title: P
severities: [high]
roles: [lead]
steps:
  - set: {roles: {lead: bob}}
  - id: fix
    name: Correct the refunds
    task: {owner: role:lead, title: "Correct the refunds of {{ .Incident.Ref }}", due: 2 business days, wait: true}
  - notify: {to: [channel:ops], message: "{{ .Steps.fix.Output.id }} done by {{ .Steps.fix.Output.by }}"}
  - set: {status: closed}
`
	s.update(time.Hour, workflows.UpdateCompleteTask, workflows.CompleteTaskInput{Task: "INC-7-T9", By: "bob"}, "incident INC-7 has no task INC-7-T9")
	s.env.RegisterDelayedCallback(func() {
		st := s.state()
		s.Require().Len(st.Tasks, 1)
		s.Equal("INC-7", st.Tasks[0].Ref, "a task names its incident")
		s.Equal("bob", st.Tasks[0].Owner)
		s.Equal(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC), st.Tasks[0].DueAt.UTC(), "Thursday plus two business days")
	}, 2*time.Hour)
	s.update(3*time.Hour, workflows.UpdateCompleteTask, workflows.CompleteTaskInput{Task: "INC-7-T1", By: "bob", Note: "refunded 42 orders"}, "")
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input(process, "high", nil))
	s.NoError(s.env.GetWorkflowError())
	s.Equal([]string{
		"bob: You own follow-up INC-7-T1 of INC-7: Correct the refunds of INC-7. Due Mon 30 Nov 2026 09:00 UTC. Mark it done: http://api/v1/incidents/INC-7",
		"ops: INC-7-T1 done by bob",
	}, s.sent.lines())
	s.Contains(s.store.kinds(), "task_created")
	s.Contains(s.store.kinds(), "task_done")
}

// clocked is a channel that records each message with the workflow time it
// was sent; with failFirst, the first attempt of each delivery fails as if
// the receiver were briefly down.
type clocked struct {
	now       func() time.Time
	mu        sync.Mutex
	sent      []string
	msgs      []channels.Message
	failFirst bool
	attempts  map[string]int
}

func (c *clocked) Send(_ context.Context, m channels.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failFirst {
		if c.attempts[m.IdempotencyKey]++; c.attempts[m.IdempotencyKey] == 1 {
			return errors.New("503 Service Unavailable")
		}
	}
	to := m.Channel
	if m.Recipient != nil {
		to = m.Recipient.ID
	}
	c.sent = append(c.sent, fmt.Sprintf("%s %s %s", c.now().UTC().Format("Mon 02 15:04"), m.Event, to))
	c.msgs = append(c.msgs, m)
	return nil
}

func (s *IncidentSuite) TestReview() {
	process := `
process: p
title: P
severities: [high]
roles: [lead]
steps:
  - set: {roles: {lead: carol}}
  - id: rv
    name: Post-incident review
    review:
      within: 5 business days
      attendees: [role:lead, team:sre]
      remind_before: [24h, 1h]
      description: "Agenda for {{ .Incident.Ref }}"
  - notify: {to: [channel:ops], message: "held at {{ .Steps.rv.Output.at }}: {{ .Steps.rv.Output.write_up }}"}
  - set: {status: closed}
`
	sent := &clocked{now: s.env.Now}
	s.acts.Channels["ops"] = sent
	// Thursday 09:00: the first slot a business day later is Friday 09:00.
	s.update(time.Minute, workflows.UpdateReviewHeld, workflows.ReviewHeldInput{By: "carol", WriteUp: "notes.txt"}, "write_up must be a link")
	s.env.RegisterDelayedCallback(func() {
		st := s.state()
		s.Require().Len(st.Reviews, 1)
		s.Equal(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC), st.Reviews[0].Start.UTC())
		s.Equal(time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC), st.Reviews[0].Latest.UTC(), "five business days from Thursday")
	}, 2*time.Minute)
	// Moved to Monday 14:00 before Friday's reminder goes out.
	s.update(time.Hour, workflows.UpdateRescheduleReview, workflows.RescheduleReviewInput{By: "carol", Start: time.Date(2026, 11, 30, 14, 0, 0, 0, time.UTC)}, "")
	s.update(4*24*time.Hour+6*time.Hour+30*time.Minute, workflows.UpdateReviewHeld,
		workflows.ReviewHeldInput{By: "carol", WriteUp: "https://wiki.example.com/INC-7"}, "")
	s.update(5*24*time.Hour, workflows.UpdateReviewHeld, workflows.ReviewHeldInput{By: "carol"}, "no review is scheduled")
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input(process, "high", nil))
	s.NoError(s.env.GetWorkflowError())

	s.Equal([]string{
		"Thu 26 09:00 review carol", "Thu 26 09:00 review alice", "Thu 26 09:00 review bob",
		"Thu 26 10:00 review carol", "Thu 26 10:00 review alice", "Thu 26 10:00 review bob",
		"Sun 29 14:00 reminder carol", "Sun 29 14:00 reminder alice", "Sun 29 14:00 reminder bob",
		"Mon 30 13:00 reminder carol", "Mon 30 13:00 reminder alice", "Mon 30 13:00 reminder bob",
		"Mon 30 15:30 notify ops",
	}, sent.sent)
	first, moved := sent.msgs[0].Invitation, sent.msgs[3].Invitation
	s.Equal(first.UID, moved.UID, "a reschedule updates the same calendar event")
	s.Equal([]int{0, 1}, []int{first.Sequence, moved.Sequence})
	s.Equal(time.Date(2026, 11, 30, 15, 0, 0, 0, time.UTC), moved.End.UTC())
	s.Len(moved.Attendees, 3)
	s.Equal("Agenda for INC-7", moved.Description)
	s.Equal("Post-incident review: INC-7 Checkout is down", moved.Summary)
	s.Equal("held at 2026-11-30 14:00:00 +0000 UTC: https://wiki.example.com/INC-7", sent.msgs[12].Message)
	s.Contains(s.store.kinds(), "review_scheduled")
	s.Contains(s.store.kinds(), "review_rescheduled")
	s.Contains(s.store.kinds(), "review_held")
}

type timedUpdate struct {
	at   time.Duration
	name string
	arg  any
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
		Process: *p, ProcessHash: "h", HistoryLimit: 40}
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
					env.UpdateWorkflow(u.name, u.name, &testsuite.TestUpdateCallback{OnAccept: func() {}, OnComplete: func(any, error) {},
						OnReject: func(err error) { t.Errorf("%s refused: %v", u.name, err) }}, u.arg)
				}, at.Sub(now))
			}
		}
		for _, l := range long {
			if at := start.Add(l); at.After(now) {
				env.RegisterDelayedCallback(func() {
					env.SetCurrentHistoryLength(1000)
					env.UpdateWorkflow(workflows.UpdateAddNote, "long", &testsuite.TestUpdateCallback{OnAccept: func() {}, OnComplete: func(any, error) {},
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
		{time.Hour, workflows.UpdateApprove, workflows.ApproveInput{By: "bob"}},
		{2 * time.Hour, workflows.UpdateSignal, workflows.SignalInput{Name: "contained"}},
		{3 * time.Hour, workflows.UpdateCompleteTask, workflows.CompleteTaskInput{Task: "INC-7-T1", By: "carol"}},
		// The review is scheduled for Friday 12:00; moved to Monday 10:00, held at 11:00.
		{4 * time.Hour, workflows.UpdateRescheduleReview, workflows.RescheduleReviewInput{By: "carol", Start: time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)}},
		{4*24*time.Hour + 2*time.Hour, workflows.UpdateReviewHeld, workflows.ReviewHeldInput{By: "carol", WriteUp: "https://wiki/INC-7"}},
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
		{7 * time.Minute, workflows.UpdateAcknowledge, workflows.AcknowledgeInput{By: "dan"}},
		{3 * time.Hour, workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "resolved", By: "dan"}},
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

// A clock still running when the incident closes is recorded as abandoned,
// so no list shows it open for ever and the timeline says what was undone.
func (s *IncidentSuite) TestClosingAbandonsOpenClocks() {
	process := `
process: p
title: P
severities: [high]
steps:
  - background: true
    deadline: {title: Final report, within: 30d, from: declared}
  - wait: {for: status == "closed"}
`
	s.update(time.Hour, workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "closed"}, "")
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input(process, "high", nil))
	s.NoError(s.env.GetWorkflowError())
	s.Contains(s.store.kinds(), "deadline_abandoned")
	last := incidentflow.Deadline{}
	for _, c := range s.store.changes {
		for _, d := range c.Deadlines {
			last = d
		}
	}
	s.Equal(workflows.ClockAbandoned, last.Status)
}

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
