// Package simulation runs an incident's process in Temporal's time-skipping
// test environment, with channels replaced by recorders, and returns the
// timeline a responder would live through: every page, notification,
// reminder, deadline and task, with its time. Weeks pass in seconds. It imports
// the workflows and activities it runs, never a database or the network.
package simulation

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	sdkworker "go.temporal.io/sdk/worker"

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

// stuckAfter is how long, on the wall clock, the simulation waits for a step
// of the run before calling it stuck. The SDK's own bound for a workflow task
// (its deadlock detection, one second) is for a worker among others; here a
// second is a busy machine, not a deadlock, and a slow machine must get the
// same timeline as a fast one.
const stuckAfter = time.Minute

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
	env.SetWorkerOptions(sdkworker.Options{DeadlockDetectionTimeout: stuckAfter})
	env.SetTestTimeout(stuckAfter) // wall-clock bound; simulated time is free
	// Activities run on the wall clock in the test environment: give them,
	// and the recorder, the simulated one.
	rec := &recorder{now: env.Now}
	senders := map[string]channels.Sender{}
	for _, c := range o.Directory.Channels {
		senders[c.ID] = rec
	}
	worker.Register(env, &activities.Activities{Store: rec, Directory: o.Directory, Channels: senders, Now: env.Now})

	resp := &responders{Responders: o.Responders, env: env, rec: rec, planned: map[string]bool{}}
	if o.Responders != (Responders{}) {
		resp.watch()
	}
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
			resp.lookAgain()
		}, e.At.Sub(o.DeclaredAt))
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

// responders act on what waits for them at exactly the moment they are due
// to: they look at the incident whenever it may have changed (after each of
// its timers, activities and updates, all of which run on the test
// environment's one loop) and plan a callback at that moment for each new
// approval, task and review. The callback looks again and acts only on what
// still waits.
type responders struct {
	Responders
	env     *testsuite.TestWorkflowEnvironment
	rec     *recorder
	planned map[string]bool // what they already planned to do
}

// watch makes the responders look whenever the run may have moved on. The
// run's first step records the declaration, so they first look after it.
func (r *responders) watch() {
	r.env.SetOnTimerFiredListener(func(string) { r.lookAgain() })
	r.env.SetOnActivityCompletedListener(func(*activity.Info, converter.EncodedValue, error) { r.lookAgain() })
	r.env.SetOnLocalActivityCompletedListener(func(*activity.Info, converter.EncodedValue, error) { r.lookAgain() })
}

// lookAgain looks once the run has taken what it was just given: a callback
// posted now runs after the workflow task it started.
func (r *responders) lookAgain() {
	if r.Responders != (Responders{}) {
		r.env.RegisterDelayedCallback(r.look, 0)
	}
}

func (r *responders) state() (workflows.State, bool) {
	var st workflows.State
	v, err := r.env.QueryWorkflow(workflows.QueryState)
	return st, err == nil && v.Get(&st) == nil
}

// look plans what is newly waiting.
func (r *responders) look() {
	st, ok := r.state()
	if !ok {
		return
	}
	for _, ap := range st.Approvals {
		if r.ApproveAfter > 0 && ap.By == "" {
			step, since := ap.Step, ap.Since
			key := "approve/" + step + "/" + since.String()
			r.plan(key, since.Add(r.ApproveAfter), func(st workflows.State) {
				for _, ap := range st.Approvals {
					if ap.Step != step || !ap.Since.Equal(since) || ap.By != "" {
						continue
					}
					if holder := st.Roles[ap.Role]; holder != "" {
						r.send(key, workflows.UpdateApprove, workflows.ApproveInput{By: holder, Step: step})
					} else {
						r.rec.add(r.env.Now(), "refused", fmt.Sprintf("%s: nobody holds the %s role to approve", step, ap.Role))
					}
				}
			})
		}
	}
	for _, t := range st.Tasks {
		if r.TasksDoneAfter > 0 && t.Status == "open" {
			id := t.ID
			key := "task/" + id
			r.plan(key, t.CreatedAt.Add(r.TasksDoneAfter), func(st workflows.State) {
				for _, t := range st.Tasks {
					if t.ID == id && t.Status == "open" {
						by := cmp.Or(t.Owner, "the responder")
						r.send(key, workflows.UpdateCompleteTask, workflows.CompleteTaskInput{Task: id, By: by})
					}
				}
			})
		}
	}
	for _, rv := range st.Reviews {
		if r.HoldReviews && !rv.Held {
			uid, seq, end := rv.UID, rv.Sequence, rv.End
			key := fmt.Sprintf("review/%s/%d/%d", uid, seq, end.UnixNano())
			r.plan(key, end, func(st workflows.State) {
				for _, rv := range st.Reviews {
					if rv.UID == uid && rv.Sequence == seq && rv.End.Equal(end) && !rv.Held {
						r.send(key, workflows.UpdateReviewHeld, workflows.ReviewHeldInput{By: "the attendees", Step: rv.Step})
					}
				}
			})
		}
	}
}

// plan runs act at the moment at (now, if it has passed), once per key, on
// the incident as it then stands.
func (r *responders) plan(key string, at time.Time, act func(workflows.State)) {
	if r.planned[key] {
		return
	}
	r.planned[key] = true
	r.env.RegisterDelayedCallback(func() {
		if st, ok := r.state(); ok {
			act(st)
		}
	}, max(at.Sub(r.env.Now()), 0))
}

// send gives the run an update, key naming it.
func (r *responders) send(key, name string, arg any) {
	now := r.env.Now()
	r.env.UpdateWorkflow(name, key, &testsuite.TestUpdateCallback{OnAccept: func() {}, OnComplete: func(any, error) {},
		OnReject: func(err error) { r.rec.add(now, "refused", fmt.Sprintf("%s was refused: %v", name, err)) }}, arg)
	r.lookAgain()
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
	// The declaration opens the timeline: the run's first messages go out
	// beside its recording, in no set order, at the same instant.
	rank := func(l Line) int {
		if l.Kind == "declared" {
			return 0
		}
		return 1
	}
	slices.SortStableFunc(out, func(a, b Line) int { return cmp.Or(a.At.Compare(b.At), cmp.Compare(rank(a), rank(b))) })
	return out
}
