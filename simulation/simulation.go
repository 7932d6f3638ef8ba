// Package simulation runs an incident's process in Temporal's time-skipping
// test environment, with channels replaced by recorders, and returns the
// timeline a responder would live through: every page, notification,
// reminder, deadline and task, with its time. Weeks pass in seconds. It imports
// the workflows and activities it runs, never a database or the network.
package simulation

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/activities"
	"github.com/incidentflow/incidentflow/channels"
	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/store"
	"github.com/incidentflow/incidentflow/worker"
	"github.com/incidentflow/incidentflow/workflows"
)

// Event is something that happens to the simulated incident at a moment.
type Event struct {
	At time.Time
	// Signal is an update sent at At: a named signal, or the reserved
	// "acknowledge", "resolve" and "assign:ROLE=PERSON".
	Signal string
	// Fields, when set, are changed at At instead (Signal names the change).
	Fields map[string]any
}

// Responders say how the simulated people act on what waits for them. Zero
// durations mean nobody does: the run waits as it would for real.
type Responders struct {
	// ApproveAfter: each approval is given by the holder of its role this
	// long after it starts waiting.
	ApproveAfter time.Duration
	// TasksDoneAfter: each follow-up is done by its owner this long after it
	// is created.
	TasksDoneAfter time.Duration
	// HoldReviews marks each review held when its meeting ends.
	HoldReviews bool
}

// pollEvery is how often the simulated responders look at the incident.
const pollEvery = 15 * time.Minute

// Options describe one simulated incident.
type Options struct {
	Process   *dsl.Process
	Hash      string
	Directory *dsl.Directory
	Severity  string
	Fields    map[string]any
	// DeclaredAt is when the incident is declared (the simulated clock's start).
	DeclaredAt time.Time
	// Events happen in order; Until closes the incident if it is still open.
	Events []Event
	Until  time.Time
	// Responders act on approvals, tasks and reviews.
	Responders Responders
}

// Line is one line of the simulated timeline.
type Line struct {
	At   time.Time
	Kind string
	Text string
}

// Run simulates the incident and returns its timeline in time order. The
// fields are checked as a declaration checks them.
func Run(o Options) ([]Line, error) {
	fields, errs := o.Process.CheckFields(o.Fields)
	if len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Error()
		}
		return nil, fmt.Errorf("%s", strings.Join(msgs, "; "))
	}
	if o.Process.SeverityRank(o.Severity) < 0 {
		return nil, fmt.Errorf("severity %q: %s incidents are %s", o.Severity, o.Process.Type, strings.Join(o.Process.Severities, ", "))
	}
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(o.DeclaredAt)
	env.SetTestTimeout(time.Minute) // wall-clock bound; simulated time is free
	// Activities run on the wall clock in the test environment: give them,
	// and the recorder, the simulated one.
	rec := &recorder{now: env.Now}
	senders := map[string]channels.Sender{}
	for _, c := range o.Directory.Channels {
		senders[c.ID] = rec
	}
	worker.Register(env, &activities.Activities{Store: rec, Directory: o.Directory, Channels: senders, Now: env.Now})

	for _, e := range o.Events {
		name, arg := updateFor(e.Signal)
		if e.Fields != nil {
			name, arg = workflows.UpdateSetFields, workflows.SetFieldsInput{Fields: e.Fields, By: "the simulation"}
		}
		env.RegisterDelayedCallback(func() {
			env.UpdateWorkflow(name, fmt.Sprintf("%s@%d", e.Signal, e.At.Unix()), &testsuite.TestUpdateCallback{
				OnAccept: func() {}, OnComplete: func(any, error) {},
				OnReject: func(err error) { rec.add(env.Now(), "refused", fmt.Sprintf("%s was refused: %v", e.Signal, err)) },
			}, arg)
		}, e.At.Sub(o.DeclaredAt))
	}
	if o.Responders != (Responders{}) {
		resp := &responders{Responders: o.Responders, env: env, rec: rec, done: map[string]bool{}}
		env.RegisterDelayedCallback(resp.poll, pollEvery)
	}
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(workflows.UpdateSetStatus, "simulation-end", &testsuite.TestUpdateCallback{
			OnAccept: func() {}, OnComplete: func(any, error) {}, OnReject: func(error) {},
		}, workflows.SetStatusInput{Status: "closed", By: "the simulation", Note: "end of the simulated span"})
	}, o.Until.Sub(o.DeclaredAt))

	env.ExecuteWorkflow(workflows.WorkflowName, workflows.Input{
		Incident: workflows.Declared{Ref: "SIM-1", Type: o.Process.Type, Title: "Simulated " + strings.ToLower(o.Process.Title),
			Severity: o.Severity, Status: o.Process.InitialStatus, Fields: fields, DeclaredBy: "the simulation", DeclaredAt: o.DeclaredAt},
		Process: *o.Process, ProcessHash: o.Hash, Calendar: o.Directory.Calendar,
		Links: dsl.Links{Incident: "(link)", Temporal: "(link)"}, Features: workflows.Features,
	})
	if err := env.GetWorkflowError(); err != nil {
		return nil, fmt.Errorf("the simulated run failed: %w", err)
	}
	return rec.timeline(), nil
}

// responders look at the incident every pollEvery and do what is due.
type responders struct {
	Responders
	env  *testsuite.TestWorkflowEnvironment
	rec  *recorder
	done map[string]bool // what they already did, or gave up on
}

func (r *responders) poll() {
	defer r.env.RegisterDelayedCallback(r.poll, pollEvery)
	v, err := r.env.QueryWorkflow(workflows.QueryState)
	if err != nil {
		return
	}
	var st workflows.State
	if v.Get(&st) != nil {
		return
	}
	now := r.env.Now()
	send := func(key, name string, arg any) {
		r.done[key] = true
		r.env.UpdateWorkflow(name, key, &testsuite.TestUpdateCallback{OnAccept: func() {}, OnComplete: func(any, error) {},
			OnReject: func(err error) { r.rec.add(now, "refused", fmt.Sprintf("%s was refused: %v", name, err)) }}, arg)
	}
	for _, ap := range st.Approvals {
		key := "approve/" + ap.Step + "/" + ap.Since.String()
		if r.ApproveAfter == 0 || ap.By != "" || r.done[key] || now.Sub(ap.Since) < r.ApproveAfter {
			continue
		}
		if holder := st.Roles[ap.Role]; holder != "" {
			send(key, workflows.UpdateApprove, workflows.ApproveInput{By: holder, Step: ap.Step})
		} else {
			r.done[key] = true
			r.rec.add(now, "refused", fmt.Sprintf("%s: nobody holds the %s role to approve", ap.Step, ap.Role))
		}
	}
	for _, t := range st.Tasks {
		key := "task/" + t.ID
		if r.TasksDoneAfter == 0 || t.Status != "open" || r.done[key] || now.Sub(t.CreatedAt) < r.TasksDoneAfter {
			continue
		}
		by := t.Owner
		if by == "" {
			by = "the responder"
		}
		send(key, workflows.UpdateCompleteTask, workflows.CompleteTaskInput{Task: t.ID, By: by})
	}
	for _, rv := range st.Reviews {
		key := fmt.Sprintf("review/%s/%d", rv.UID, rv.Sequence)
		if !r.HoldReviews || rv.Held || r.done[key] || now.Before(rv.End) {
			continue
		}
		send(key, workflows.UpdateReviewHeld, workflows.ReviewHeldInput{By: "the attendees", Step: rv.Step})
	}
}

// updateFor maps a simulated event to the update a person would send.
func updateFor(signal string) (string, any) {
	if role, person, ok := strings.Cut(strings.TrimPrefix(signal, "assign:"), "="); ok && strings.HasPrefix(signal, "assign:") {
		return workflows.UpdateAssignRole, workflows.AssignRoleInput{Role: role, Person: person, By: "the simulation"}
	}
	switch signal {
	case "acknowledge":
		return workflows.UpdateAcknowledge, workflows.AcknowledgeInput{By: "the responder"}
	case "resolve":
		return workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "resolved", By: "the responder"}
	}
	return workflows.UpdateSignal, workflows.SignalInput{Name: signal, By: "the simulation"}
}

// recorder is the store and every channel of a simulation: it keeps what
// would have been written and sent.
type recorder struct {
	now   func() time.Time
	mu    sync.Mutex
	lines []Line
	seen  map[string]bool
	sent  map[string]string
}

var (
	_ activities.Store = (*recorder)(nil)
	_ channels.Sender  = (*recorder)(nil)
)

func (r *recorder) add(at time.Time, kind, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, Line{At: at, Kind: kind, Text: text})
}

func (r *recorder) ApplyChange(_ context.Context, c incidentflow.Change) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen == nil {
		r.seen = map[string]bool{}
	}
	for _, e := range c.Events {
		if r.seen[e.DedupKey] || e.Kind == "delivered" { // deliveries are shown as sent, below
			continue
		}
		r.seen[e.DedupKey] = true
		r.lines = append(r.lines, Line{At: e.At, Kind: e.Kind, Text: e.Message})
	}
	return nil
}

func (r *recorder) BeginDelivery(_ context.Context, d store.Delivery) (store.Delivery, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sent == nil {
		r.sent = map[string]string{}
	}
	if status, ok := r.sent[d.Key]; ok {
		d.Status = status
		return d, nil
	}
	r.sent[d.Key] = store.DeliveryPending
	d.Status = store.DeliveryPending
	return d, nil
}

func (r *recorder) FinishDelivery(_ context.Context, key, status, _ string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent[key] = status
	return nil
}

// Deliveries lists nothing: the simulation's channels follow nothing up.
func (r *recorder) Deliveries(context.Context, string, string) ([]store.Delivery, error) {
	return nil, nil
}

// Send records a delivery at the simulated time it happened.
func (r *recorder) Send(_ context.Context, m channels.Message) error {
	to := "#" + m.Channel
	if m.Recipient != nil {
		to = m.Recipient.Name
	}
	kind := m.Event
	if m.Level > 0 {
		kind = fmt.Sprintf("page L%d", m.Level)
	}
	text := fmt.Sprintf("→ %s: %s", to, m.Message)
	if inv := m.Invitation; inv != nil {
		text += fmt.Sprintf(" [invitation: %s]", channels.When(inv))
	}
	r.add(r.now(), kind, text)
	return nil
}

func (r *recorder) timeline() []Line {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := slices.Clone(r.lines)
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}
