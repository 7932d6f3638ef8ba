package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/suite"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/activities"
	"github.com/incidentflow/incidentflow/channels"
	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/store"
	"github.com/incidentflow/incidentflow/workflows"
)

// memStore records what activities write, in memory.
type memStore struct {
	mu         sync.Mutex
	changes    []incidentflow.Change
	published  []published // the states runs published (StateSink)
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
	workflows.SetStateSink(s.store)
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
		Features: workflows.Features,
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
