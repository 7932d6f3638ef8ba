// Package workflows is the interpreter: IncidentWorkflow runs one incident's
// compiled process, step by step, durably. Its code is deterministic — no time.Now,
// no randomness, no goroutines, no I/O, no map iteration that decides order — and it
// never imports store, api or channels; activities do the side effects.
package workflows

import (
	"fmt"
	"maps"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/activities"
	"github.com/incidentflow/incidentflow/dsl"
)

// TaskQueue is where incident runs and their activities are scheduled.
const TaskQueue = "incidents"

// WorkflowName is the registered name of IncidentWorkflow.
const WorkflowName = "incident"

// Update and query names.
const (
	UpdateAcknowledge = "acknowledge"
	UpdateSetStatus   = "set_status"
	UpdateSetSeverity = "set_severity"
	UpdateAssignRole  = "assign_role"
	UpdateSignal      = "signal"
	UpdateAddNote     = "add_note"
	QueryState        = "state"
)

// RefusedError is the error type of an update the incident refuses in its
// current state; the API answers it with 409 and the message.
const RefusedError = "Refused"

// RepeatedError is the error type of an update the run (or the one it
// continued from) carried out before under the same ID: the API answers
// it with the incident as it now stands (409 if the run cannot say), and
// does not withdraw the update's events.
const RepeatedError = "Repeated"

// BusyError is the error type of an update the run cannot take now but
// will shortly; the API answers it with 429, to be retried.
const BusyError = "Busy"

// Search attributes kept current on every run.
var (
	AttrType     = temporal.NewSearchAttributeKeyKeyword("IncidentType")
	AttrSeverity = temporal.NewSearchAttributeKeyKeyword("IncidentSeverity")
	AttrStatus   = temporal.NewSearchAttributeKeyKeyword("IncidentStatus")
	AttrRef      = temporal.NewSearchAttributeKeyKeyword("IncidentRef")
)

// Features of the interpreter, in the order they came: a run has those up
// to its Input's Features.
const (
	// FeaturePagesBeside: a page level's window opens when the level is
	// due, and its delivery goes on beside it.
	FeaturePagesBeside = 1
	// FeatureTasksFollowRoles: a task owned by a role follows it, to whoever
	// takes the role while the task is open.
	FeatureTasksFollowRoles = 2
	// FeatureStateRecorded: the run publishes its state whenever it moves
	// (StateSink), so that what the store holds of it is current and
	// reads are served from the store.
	FeatureStateRecorded = 3
	// Features is what this interpreter gives the runs it starts.
	Features = FeatureStateRecorded
)

// SearchAttributeNames are the custom search attributes a namespace needs.
var SearchAttributeNames = []string{"IncidentType", "IncidentSeverity", "IncidentStatus", "IncidentRef"}

// SearchAttributeTypes are SearchAttributeNames with their types, as a
// server registers them: every one a keyword.
func SearchAttributeTypes() map[string]enumspb.IndexedValueType {
	out := map[string]enumspb.IndexedValueType{}
	for _, name := range SearchAttributeNames {
		out[name] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	}
	return out
}

// Declared is the incident as it was declared.
type Declared struct {
	Ref        string         `json:"ref"`
	Type       string         `json:"type"`
	Title      string         `json:"title"`
	Summary    string         `json:"summary,omitempty"`
	Severity   string         `json:"severity"`
	Status     string         `json:"status"`
	Fields     map[string]any `json:"fields,omitempty"`
	DeclaredBy string         `json:"declared_by,omitempty"`
	DeclaredAt time.Time      `json:"declared_at"`
}

// Input starts a run: the incident and the compiled process snapshot it runs.
// The workflow never reads files, so editing a process changes only incidents
// declared afterwards.
type Input struct {
	Incident    Declared      `json:"incident"`
	Process     dsl.Process   `json:"process"`
	ProcessHash string        `json:"process_hash"`
	Calendar    *dsl.Calendar `json:"calendar,omitempty"`
	Links       dsl.Links     `json:"links"`
	// HistoryLimit is the history length at which a run continues as new
	// (0: DefaultHistoryLimit); Continued is what the previous run handed on.
	HistoryLimit int           `json:"history_limit,omitempty"`
	Continued    *Continuation `json:"continued,omitempty"`
	// Features is what the interpreter that started the run could do
	// (Features); a run started before a behaviour existed goes on without
	// it. Behaviour every run takes reads it rather than a version marker,
	// which would cost every run two history events.
	Features int `json:"features,omitempty"`
}

// StartOptions are the options every start of an incident's run uses, so the
// API and the reconciler start it the same way and a second start is refused.
func StartOptions(in Input) client.StartWorkflowOptions {
	inc := in.Incident
	return client.StartWorkflowOptions{
		ID:        incidentflow.WorkflowID(inc.Ref),
		TaskQueue: TaskQueue,
		// A second start of the same incident, running or finished, is refused
		// with WorkflowExecutionAlreadyStarted (without the last option the SDK
		// would hand back the existing run as if it had just started it):
		// callers treat "already started" as done.
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		// Where the API and a worker share a process and its client (dev, or
		// one process running both), the run's first workflow task comes back
		// with the start, skipping matching: a flood of declarations costs
		// the history service a write less each. Elsewhere this changes nothing.
		EnableEagerStart: true,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			AttrType.ValueSet(inc.Type), AttrSeverity.ValueSet(inc.Severity), AttrStatus.ValueSet(inc.Status), AttrRef.ValueSet(inc.Ref)),
		StaticSummary: fmt.Sprintf("%s · %s · %s · %s", inc.Ref, inc.Type, inc.Severity, shownTitle(in)),
		StaticDetails: staticDetails(in),
	}
}

// shownTitle is the title the Temporal UI shows: a restricted incident's
// is for its viewers, not for everyone who can open the UI.
func shownTitle(in Input) string {
	if in.Process.Restricted() {
		return "restricted incident"
	}
	return in.Incident.Title
}

func staticDetails(in Input) string {
	inc := in.Incident
	var b strings.Builder
	fmt.Fprintf(&b, "**%s** — %s\n\n", shownTitle(in), in.Process.Title)
	fmt.Fprintf(&b, "- Ref: %s\n- Type: %s\n- Severity at declaration: %s\n", inc.Ref, inc.Type, inc.Severity)
	if inc.DeclaredBy != "" {
		fmt.Fprintf(&b, "- Declared by: %s\n", inc.DeclaredBy)
	}
	fmt.Fprintf(&b, "- Declared at: %s\n- Process version: %.12s\n", inc.DeclaredAt.UTC().Format(time.RFC3339), in.ProcessHash)
	if inc.Summary != "" && !in.Process.Restricted() {
		fmt.Fprintf(&b, "\n%s\n", inc.Summary)
	}
	if in.Links.Incident != "" {
		fmt.Fprintf(&b, "\n[Incident in the API](%s)\n", in.Links.Incident)
	}
	return b.String()
}

// Acknowledgement records who acknowledged the incident, and when.
type Acknowledgement struct {
	By string    `json:"by"`
	At time.Time `json:"at"`
}

// SignalRecord is the first arrival of a named signal.
type SignalRecord struct {
	At      time.Time      `json:"at"`
	By      string         `json:"by,omitempty"`
	Payload map[string]any `json:"payload,omitempty"`
}

// Activity is one step that is running now, and what it waits for.
type Activity struct {
	Step    string     `json:"step"`
	Kind    string     `json:"kind"`
	Waiting string     `json:"waiting,omitempty"`
	Until   *time.Time `json:"until,omitempty"`
}

// State is the live picture of an incident, returned by the state query:
// its View, which the API shows people, and the run's Bookkeeping, which it
// keeps for itself. Both embed flat, so the state's JSON (a continued run's
// input, recorded histories) is as it always was.
type State struct {
	View
	Bookkeeping
}

// View is what a run shows of its incident: what it is, what runs and
// waits, and what is due (the API's IncidentState).
type View struct {
	Ref          string                       `json:"ref"`
	Type         string                       `json:"type"`
	Title        string                       `json:"title"`
	Status       string                       `json:"status"`
	Severity     string                       `json:"severity"`
	Fields       map[string]any               `json:"fields"`
	Roles        map[string]string            `json:"roles"`
	Acknowledged *Acknowledgement             `json:"acknowledged,omitempty"`
	Acks         []Acknowledgement            `json:"acks,omitempty"` // every acknowledgement, of the incident and of pages
	Escalations  []*Escalation                `json:"escalations"`
	Approvals    []*PendingApproval           `json:"approvals"`
	Reviews      []*Review                    `json:"reviews"`
	Tasks        []incidentflow.Task          `json:"tasks"`
	Signals      map[string]SignalRecord      `json:"signals,omitempty"`
	Outputs      map[string]map[string]any    `json:"outputs,omitempty"`
	Active       []Activity                   `json:"active"`
	Clocks       []Clock                      `json:"deadlines"`
	Recent       []incidentflow.TimelineEvent `json:"recent"`
	ProcessHash  string                       `json:"process_hash"`
}

// Bookkeeping is what a run keeps for itself, to number, key and follow up
// what it does: no client sees it.
type Bookkeeping struct {
	// StateRecorded says the run records its state whenever it moves
	// (FeatureStateRecorded): what the store holds of it is current.
	StateRecorded bool `json:"state_recorded,omitempty"`
	// StateVersion counts the states the run gave the store, so that a
	// newer one always wins there.
	StateVersion int64 `json:"state_version,omitempty"`
	// Updates are the IDs of the last updates the run carried out (see once).
	Updates []string `json:"updates,omitempty"`
	// TaskCount numbers the incident's tasks: INC-7-T1, INC-7-T2…
	TaskCount int `json:"task_count"`
	// ApprovalCount numbers its approvals as they begin.
	ApprovalCount int `json:"approval_count,omitempty"`
	// PersonStatus is the status a person set last, StatusBy who: a
	// process step never moves the status back past it.
	PersonStatus string `json:"person_status,omitempty"`
	StatusBy     string `json:"status_by,omitempty"`
	// Seq numbers timeline events, so their dedup keys are stable across replays.
	Seq int64 `json:"seq"`
	// Iterations count how often each step ran, for delivery keys.
	Iterations map[string]int `json:"iterations,omitempty"`
	// Fired counts each trigger's firings, which number their handler runs.
	Fired map[string]int `json:"fired,omitempty"`
	// Tracked says a channel that follows its alerts up (PagerDuty) took a
	// delivery; FollowedAcks and FollowedResolve say what it was told since.
	Tracked         bool `json:"tracked,omitempty"`
	FollowedAcks    int  `json:"followed_acks,omitempty"`
	FollowedResolve bool `json:"followed_resolve,omitempty"`
}

// AcknowledgeInput is the acknowledge update's argument.
type AcknowledgeInput struct {
	By string `json:"by" limit:"line,100"`
}

// SetStatusInput is the set_status update's argument.
type SetStatusInput struct {
	Status string `json:"status" limit:"line,100"`
	By     string `json:"by,omitempty" limit:"line,100"`
	Note   string `json:"note,omitempty" limit:"text,10000"`
}

// SetSeverityInput is the set_severity update's argument.
type SetSeverityInput struct {
	Severity string `json:"severity" limit:"line,100"`
	By       string `json:"by,omitempty" limit:"line,100"`
	Note     string `json:"note,omitempty" limit:"text,10000"`
}

// AssignRoleInput is the assign_role update's argument: who now holds a role.
type AssignRoleInput struct {
	Role   string `json:"role" limit:"line,100"`
	Person string `json:"person" limit:"line,100"`
	By     string `json:"by,omitempty" limit:"line,100"`
}

// AddNoteInput is the add_note update's argument: a line for the timeline.
type AddNoteInput struct {
	Text string `json:"text" limit:"text,10000"`
	By   string `json:"by,omitempty" limit:"line,100"`
}

// SignalInput is the signal update's argument: a named event, such as
// "contained" or "regulator_notified", with an optional payload.
type SignalInput struct {
	Name    string         `json:"name" limit:"line,100"`
	By      string         `json:"by,omitempty" limit:"line,100"`
	Payload map[string]any `json:"payload,omitempty" limit:"json,4096"`
}

// recentLimit is how many timeline events the state query carries, and
// recentMessage how many characters of each.
const (
	recentLimit   = 20
	recentMessage = 1000
)

// IncidentWorkflow runs an incident's process until the incident is closed or
// declined. Updates change its state; the state query shows it.
func IncidentWorkflow(ctx workflow.Context, in Input) error {
	r, err := newRun(ctx, in)
	if err != nil {
		return err
	}
	return r.run(ctx)
}

// run is one incident's interpreter state. Only workflow coroutines touch it.
type run struct {
	in     Input
	state  State
	conds  *dsl.Conditions
	logger interface {
		Info(string, ...any)
		Warn(string, ...any)
	}
	// mainCtx is cancelled when the incident closes; the main sequence,
	// background steps and handlers all run under it.
	mainCtx workflow.Context
	// root is the run's own context, for validators to read its history.
	root workflow.Context
	// queue holds changes not yet written to the store, in order; stale
	// says the state moved without a change to carry it there.
	queue []incidentflow.Change
	stale bool
	// followingUp is true while the follow-up activity runs.
	followingUp bool
	written     int64 // number of changes written
	queued      int64 // number of changes queued
	// frames are the running steps, by path; saved are the previous run's,
	// to resume from; inflight counts activities not yet completed.
	frames   map[string]*Frame
	saved    map[string]*Frame
	inflight int
	// delivering counts deliveries and calls in flight (see delivery).
	delivering int
	// resumedAt is the history length when this run began its work.
	resumedAt int
	// updateEvents counts the events each update has recorded, made holds
	// them until the update answers.
	updateEvents map[string]int
	made         map[string][]incidentflow.TimelineEvent
	// clockSteps are the deadline steps of the clocks running, by index.
	clockSteps map[int]*dsl.Step
}

func newRun(ctx workflow.Context, in Input) (*run, error) {
	conds, err := dsl.NewConditions(&in.Process)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError("compile process conditions", "InvalidProcess", err)
	}
	inc := in.Incident
	fields := maps.Clone(inc.Fields)
	if fields == nil {
		fields = map[string]any{}
	}
	// Every line the run logs names its incident and process.
	logger := sdklog.With(workflow.GetLogger(ctx), "incident", in.Incident.Ref, "process", in.Incident.Type)
	r := &run{in: in, conds: conds, logger: logger, state: State{View: View{
		Ref: inc.Ref, Type: inc.Type, Title: inc.Title, Status: inc.Status, Severity: inc.Severity,
		Fields: fields, Roles: map[string]string{}, Signals: map[string]SignalRecord{}, Outputs: map[string]map[string]any{},
		Active: []Activity{}, Clocks: []Clock{}, Escalations: []*Escalation{}, Approvals: []*PendingApproval{}, Reviews: []*Review{}, Tasks: []incidentflow.Task{}, Recent: []incidentflow.TimelineEvent{}, ProcessHash: in.ProcessHash,
	}, Bookkeeping: Bookkeeping{Iterations: map[string]int{}, Fired: map[string]int{}}}}
	if r.state.Status == "" {
		r.state.Status = in.Process.InitialStatus
	}
	r.frames, r.saved, r.updateEvents, r.clockSteps = map[string]*Frame{}, map[string]*Frame{}, map[string]int{}, map[int]*dsl.Step{}
	r.made = map[string][]incidentflow.TimelineEvent{}
	if c := in.Continued; c != nil {
		r.state, r.saved = c.State, c.Frames
		r.state.Active = []Activity{}
		// Empty maps do not survive the trip through JSON.
		for _, m := range []*map[string]int{&r.state.Iterations, &r.state.Fired} {
			if *m == nil {
				*m = map[string]int{}
			}
		}
		if r.state.Signals == nil {
			r.state.Signals = map[string]SignalRecord{}
		}
		if r.state.Outputs == nil {
			r.state.Outputs = map[string]map[string]any{}
		}
		if r.state.Roles == nil {
			r.state.Roles = map[string]string{}
		}
		if r.state.Fields == nil {
			r.state.Fields = map[string]any{}
		}
		if r.saved == nil {
			r.saved = map[string]*Frame{}
		}
	}
	r.state.StateRecorded = in.Features >= FeatureStateRecorded
	return r, nil
}

func (r *run) run(ctx workflow.Context) error {
	mainCtx, cancelMain := workflow.WithCancel(ctx)
	r.mainCtx, r.root = mainCtx, ctx
	if err := r.registerHandlers(ctx); err != nil {
		return err
	}
	workflow.Go(ctx, r.recorder)
	workflow.Go(ctx, r.followUps)

	r.resumedAt = workflow.GetInfo(ctx).GetCurrentHistoryLength()
	if r.in.Continued != nil {
		r.resume(ctx)
	} else {
		inc := r.in.Incident
		by := ""
		if inc.DeclaredBy != "" {
			by = " by " + inc.DeclaredBy
		}
		r.record(ctx, incidentflow.Change{}, r.event(ctx, "declared", "", inc.DeclaredBy,
			fmt.Sprintf("Declared%s: %s (%s, %s process %.12s)", by, inc.Title, inc.Severity, inc.Type, r.in.ProcessHash), nil))
		workflow.Go(mainCtx, func(c workflow.Context) {
			r.steps(c, r.in.Process.Steps, "steps")
			if !dsl.IsFinalStatus(r.state.Status) {
				r.details(ctx) // the sequence is over; say the run now waits to be closed
			}
		})
	}
	for {
		continuing := false
		if err := workflow.Await(ctx, func() bool {
			continuing = !dsl.IsFinalStatus(r.state.Status) && r.shouldContinue(ctx)
			return continuing || dsl.IsFinalStatus(r.state.Status)
		}); err != nil {
			return err
		}
		if !continuing {
			break
		}
		// A delivery in flight would be dropped by the new run, or sent
		// twice: wait for it. Runs recorded before this rule continued
		// regardless, and replay so; only a run that meets the case asks.
		if r.delivering > 0 && workflow.GetVersion(ctx, "continue-after-deliveries", workflow.DefaultVersion, 1) == 1 {
			if err := workflow.Await(ctx, func() bool { return r.delivering == 0 || dsl.IsFinalStatus(r.state.Status) }); err != nil {
				return err
			}
			continue
		}
		return r.continueAsNew(ctx)
	}
	cancelMain()
	// Only a run with clocks still running asks for the version: the marker
	// (and the search attribute the SDK sets with it) costs every other
	// run nothing.
	if r.openClocks() && workflow.GetVersion(ctx, "abandon-open-clocks", workflow.DefaultVersion, 1) == 1 {
		r.abandonClocks(ctx)
	}
	// A review not held is off: its attendees' calendars hear so. Only a
	// run with one asks for the version.
	if len(r.pendingReviews("")) > 0 && workflow.GetVersion(ctx, "cancel-reviews-on-close", workflow.DefaultVersion, 1) == 1 {
		r.cancelReviews(ctx)
	}
	// Let update handlers answer, alerts be closed and the store catch up
	// before the run ends.
	return workflow.Await(ctx, func() bool {
		return workflow.AllHandlersFinished(ctx) && r.followUpDue() == "" && !r.followingUp && r.written == r.queued && !r.stale
	})
}

// facts is what conditions and templates see now.
func (r *run) facts() dsl.Facts {
	f := dsl.Facts{Ref: r.state.Ref, Type: r.state.Type, Title: r.state.Title, Severity: r.state.Severity, Status: r.state.Status,
		Summary: r.in.Incident.Summary, DeclaredAt: r.in.Incident.DeclaredAt, Fields: r.state.Fields, Steps: r.state.Outputs,
		Roles: map[string]string{}, Zone: r.in.Calendar.Location()}
	for _, role := range r.in.Process.Roles {
		f.Roles[role] = r.state.Roles[role] // "" while nobody holds it
	}
	if a := r.state.Acknowledged; a != nil {
		f.Acknowledged, f.AcknowledgedBy = true, a.By
	}
	return f
}

// messageFacts is what the templates of step s's message see now: facts,
// and the approvals an approve link in it gives.
func (r *run) messageFacts(s *dsl.Step) dsl.Facts {
	f := r.facts()
	f.Approvals = r.approveTarget(s)
	f.Steps = r.deadlineOutputs(f.Steps)
	return f
}

// details sets the run's current details in the Temporal UI: what it waits for.
func (r *run) details(ctx workflow.Context) {
	r.touch() // what the run waits for moved: readers of the store see it too
	var b strings.Builder
	fmt.Fprintf(&b, "**%s** · %s · %s", r.state.Ref, r.state.Severity, r.state.Status)
	if a := r.state.Acknowledged; a != nil {
		fmt.Fprintf(&b, " · acknowledged by %s", a.By)
	}
	b.WriteString("\n\n")
	if len(r.state.Active) == 0 && len(r.state.Escalations) == 0 {
		b.WriteString("Nothing is running: the process waits for the incident to be closed.\n")
	}
	for _, act := range r.state.Active {
		fmt.Fprintf(&b, "- %s", act.Step)
		if act.Waiting != "" {
			fmt.Fprintf(&b, ": %s", act.Waiting)
		}
		if act.Until != nil {
			fmt.Fprintf(&b, " (until %s)", act.Until.UTC().Format("2006-01-02 15:04 MST"))
		}
		b.WriteString("\n")
	}
	for _, e := range r.state.Escalations {
		fmt.Fprintf(&b, "- Paging %s, level %d (round %d): waiting for an acknowledgement until %s\n", e.Policy, e.Level, e.Round, e.NextAt.UTC().Format("15:04 MST"))
	}
	for _, p := range r.state.Reviews {
		if !p.Held {
			fmt.Fprintf(&b, "- Review %s: %s\n", p.Title, r.localTime(p.Start))
		}
	}
	for _, c := range r.state.Clocks {
		if c.running() {
			fmt.Fprintf(&b, "- Deadline %s: due %s (%s)\n", c.Title, r.localTime(c.Due), c.Status)
		}
	}
	workflow.SetCurrentDetails(ctx, b.String())
}

// followUpDue names what the channels that track their alerts have yet to
// hear: acknowledge (a new acknowledgement) or resolve (the incident is over).
func (r *run) followUpDue() string {
	switch {
	case !r.state.Tracked || r.state.FollowedResolve:
		return ""
	case r.state.Status == "resolved" || dsl.IsFinalStatus(r.state.Status):
		return "resolve"
	case len(r.state.Acks) > r.state.FollowedAcks:
		return "acknowledge"
	}
	return ""
}

// followUps tells the channels that track their alerts (PagerDuty) when the
// incident is acknowledged and when it is resolved. It runs only for
// incidents whose deliveries went through such a channel, so other runs'
// histories hold no trace of it.
func (r *run) followUps(ctx workflow.Context) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute, ScheduleToCloseTimeout: time.Hour,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute},
	})
	for {
		var event string
		if err := workflow.Await(ctx, func() bool { event = r.followUpDue(); return event != "" }); err != nil {
			return
		}
		acks := len(r.state.Acks)
		r.followingUp = true
		opts := workflow.GetActivityOptions(ctx)
		opts.Summary = "Tell the alerting channels: " + event
		err := r.result(ctx, workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), a.FollowUp,
			activities.FollowUpInput{Incident: r.channelIncident(), Event: event}), nil)
		r.followingUp = false
		if err != nil {
			r.record(ctx, incidentflow.Change{}, r.event(ctx, "step_failed", "", "", fmt.Sprintf("Could not %s the alerts: %v", event, rootCause(err)), nil))
		}
		if event == "resolve" {
			r.state.FollowedResolve = true
		} else {
			r.state.FollowedAcks = acks
		}
	}
}

// result waits for an activity's result, counting it as in flight meanwhile:
// a run continues as new only when nothing is.
func (r *run) result(ctx workflow.Context, f workflow.Future, out any) error {
	r.inflight++
	defer func() { r.inflight-- }()
	return f.Get(ctx, out)
}

// beside runs f in the background, counted in flight like result: then
// gets its outcome, out filled in, when it completes.
func (r *run) beside(ctx workflow.Context, f workflow.Future, out any, then func(error)) {
	r.inflight++
	workflow.Go(ctx, func(gctx workflow.Context) {
		err := f.Get(gctx, out)
		r.inflight--
		then(err)
	})
}

// delivery is result for the deliveries and calls of notify, task, review,
// deadline and http steps, which the first runs did not count as in flight:
// a run that continued as new while one was scheduled dropped it. They are
// counted apart, so that runs recorded before still replay (see run).
func (r *run) delivery(ctx workflow.Context, f workflow.Future, out any) error {
	r.delivering++
	defer func() { r.delivering-- }()
	return f.Get(ctx, out)
}
