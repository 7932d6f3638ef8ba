package workflows

// The run's updates: what people ask of a running incident (acknowledge,
// change its status or severity, assign a role, add a note, send a signal),
// each validated before it is accepted, and the changes they make.

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/dsl"
)

func refused(format string, args ...any) error {
	return temporal.NewApplicationError(fmt.Sprintf(format, args...), RefusedError)
}

func (r *run) registerHandlers(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (State, error) { return r.state, nil }); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateAcknowledge, inUpdate(r, r.acknowledge),
		workflow.UpdateHandlerOptions{Validator: once(r, r.validateAcknowledge)}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateSetStatus, inUpdate(r, r.setStatus),
		workflow.UpdateHandlerOptions{Validator: once(r, r.validateSetStatus)}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateSetSeverity, inUpdate(r, r.setSeverity),
		workflow.UpdateHandlerOptions{Validator: once(r, r.validateSetSeverity)}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateAssignRole, inUpdate(r, r.assignRole),
		workflow.UpdateHandlerOptions{Validator: once(r, r.validateAssignRole)}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateCompleteTask, inUpdate(r, r.completeTask),
		workflow.UpdateHandlerOptions{Validator: once(r, r.validateCompleteTask)}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateApprove, inUpdate(r, r.approve),
		workflow.UpdateHandlerOptions{Validator: once(r, r.validateApprove)}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateReviewHeld, inUpdate(r, r.reviewHeld),
		workflow.UpdateHandlerOptions{Validator: once(r, r.validateReviewHeld)}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateRescheduleReview, inUpdate(r, r.rescheduleReview),
		workflow.UpdateHandlerOptions{Validator: once(r, r.validateRescheduleReview)}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateAddNote, inUpdate(r, r.addNote),
		workflow.UpdateHandlerOptions{Validator: once(r, r.validateAddNote)}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateSetFields, inUpdate(r, r.setFields),
		workflow.UpdateHandlerOptions{Validator: once(r, r.validateSetFields)}); err != nil {
		return err
	}
	return workflow.SetUpdateHandlerWithOptions(ctx, UpdateSignal, inUpdate(r, r.signal),
		workflow.UpdateHandlerOptions{Validator: once(r, r.validateSignal)})
}

// updateKey carries, in an update handler's context, the update's ID.
type updateKey struct{}

// once gives an update's validator a check of its own: an update the run
// (or the run it continued from) carried out is not carried out again
// under the same ID. Temporal answers a repeated ID from the update within
// a run, not across continue-as-new.
func once[T any](r *run, validate func(T) error) func(workflow.Context, T) error {
	return func(ctx workflow.Context, in T) error {
		if u := workflow.GetCurrentUpdateInfo(ctx); u != nil && slices.Contains(r.state.Updates, u.ID) {
			return temporal.NewApplicationError(fmt.Sprintf("incident %s already took this change (its answer was lost on the way); see its timeline", r.state.Ref), RepeatedError)
		}
		return validate(in)
	}
}

// recentUpdates is how many of the updates it carried out a run remembers,
// and hands on when it continues as new.
const recentUpdates = 64

// UpdateResult is an update's answer: the run's state, and the timeline
// events the update made. Temporal keeps an update's answer only from a
// workflow task it keeps, while the recorder may have written the events
// of a task it did not (other updates first, in another order): the caller
// settles the update's events in the store from its answer.
type UpdateResult struct {
	State
	Made []MadeEvent `json:"made,omitempty"`
}

// MadeEvent is an event of an update's answer, with what clients are not
// shown of it (its key and number).
type MadeEvent struct {
	Event incidentflow.TimelineEvent `json:"event"`
	Key   string                     `json:"key"`
	Seq   int64                      `json:"seq"`
}

// Events are the events as the store keeps them.
func (u UpdateResult) Events() []incidentflow.TimelineEvent {
	out := make([]incidentflow.TimelineEvent, len(u.Made))
	for i, m := range u.Made {
		out[i] = m.Event
		out[i].DedupKey, out[i].Seq = m.Key, m.Seq
	}
	return out
}

// inUpdate gives an update handler a context that knows its update's ID,
// for the dedup keys of the events it records, and answers what it made.
func inUpdate[T any](r *run, fn func(workflow.Context, T) (State, error)) func(workflow.Context, T) (UpdateResult, error) {
	return func(ctx workflow.Context, in T) (UpdateResult, error) {
		u := workflow.GetCurrentUpdateInfo(ctx)
		if u != nil {
			ctx = workflow.WithValue(ctx, updateKey{}, u.ID)
		}
		if u != nil {
			r.state.Updates = append(r.state.Updates, u.ID)
			if n := len(r.state.Updates); n > recentUpdates {
				r.state.Updates = slices.Clone(r.state.Updates[n-recentUpdates:])
			}
		}
		st, err := fn(ctx, in)
		if u != nil && err != nil { // not carried out: it may be sent again
			r.state.Updates = slices.DeleteFunc(r.state.Updates, func(id string) bool { return id == u.ID })
		}
		res := UpdateResult{State: st}
		if u != nil {
			// A refused update's events are withdrawn from the store: a
			// handler refuses before it records anything.
			if err != nil && len(r.made[u.ID]) > 0 {
				r.logger.Warn("an update made timeline events and then failed; the store withdraws them", "update", u.ID, "error", err)
			}
			for _, e := range r.made[u.ID] {
				res.Made = append(res.Made, MadeEvent{Event: e, Key: e.DedupKey, Seq: e.Seq})
			}
			delete(r.made, u.ID)
		}
		return res, err
	}
}

// fire starts every handler of the trigger beside whatever else runs, if
// its condition holds (see holds; before are the facts just before the change).
func (r *run) fire(ctx workflow.Context, trigger string, before dsl.Facts) {
	for i := range r.in.Process.Handlers {
		h := &r.in.Process.Handlers[i]
		if h.On == trigger && r.holds(ctx, h, before) {
			if r.state.Fired == nil {
				r.state.Fired = map[string]int{}
			}
			r.state.Fired[trigger]++
			// Each firing runs under its own path, so that concurrent runs
			// of one handler keep apart (and a new run can resume each).
			path := fmt.Sprintf("on.%s#%d", h.On, r.state.Fired[trigger])
			hctx := workflow.WithValue(r.mainCtx, ackBaselineKey{}, len(r.state.Acks))
			workflow.Go(hctx, func(c workflow.Context) { r.steps(c, h.Steps, path) })
		}
	}
}

func (r *run) validateSetSeverity(in SetSeverityInput) error {
	if err := r.validateOpen(in); err != nil {
		return err
	}
	switch {
	case r.in.Process.SeverityRank(in.Severity) < 0:
		return refused("unknown severity %q: %s incidents are %s", in.Severity, r.state.Type, strings.Join(r.in.Process.Severities, ", "))
	case in.Severity == r.state.Severity:
		return refused("incident %s is already %s", r.state.Ref, in.Severity)
	}
	return nil
}

func (r *run) setSeverity(ctx workflow.Context, in SetSeverityInput) (State, error) {
	r.flush(ctx, r.changeSeverity(ctx, in.Severity, in.By, "", in.Note))
	return r.state, nil
}

func (r *run) validateAssignRole(in AssignRoleInput) error {
	if err := r.validateOpen(in); err != nil {
		return err
	}
	switch {
	case !slices.Contains(r.in.Process.Roles, in.Role):
		return refused("unknown role %q: %s incidents have roles %s", in.Role, r.state.Type, strings.Join(r.in.Process.Roles, ", "))
	case strings.TrimSpace(in.Person) == "":
		return refused("say who takes the role: \"person\" is required")
	case r.state.Roles[in.Role] == in.Person:
		return refused("%s already holds %s", in.Person, in.Role)
	case in.Person == in.By && r.in.Process.RoleApproves(in.Role):
		return refused("%s cannot give themselves the %s role: it approves, so someone else must assign it", in.By, in.Role)
	}
	return nil
}

func (r *run) assignRole(ctx workflow.Context, in AssignRoleInput) (State, error) {
	roles := maps.Clone(r.state.Roles)
	roles[in.Role] = in.Person
	r.state.Roles = roles
	msg := fmt.Sprintf("%s is now %s", in.Person, in.Role)
	if in.By != "" {
		msg += " (assigned by " + in.By + ")"
	}
	e := r.event(ctx, "role_assigned", "", in.By, msg, map[string]any{"role": in.Role, "person": in.Person})
	r.record(ctx, incidentflow.Change{Roles: []incidentflow.RoleAssignment{{Role: in.Role, Person: in.Person, By: in.By, At: e.At, DedupKey: e.DedupKey}}}, e)
	r.followRole(ctx, in.Role, e.DedupKey)
	r.flush(ctx, r.queued) // the role, and the tasks that followed it
	return r.state, nil
}

func (r *run) validateAddNote(in AddNoteInput) error {
	if err := r.validateOpen(in); err != nil {
		return err
	}
	if strings.TrimSpace(in.Text) == "" {
		return refused("a note needs text")
	}
	return nil
}

func (r *run) addNote(ctx workflow.Context, in AddNoteInput) (State, error) {
	r.flush(ctx, r.record(ctx, incidentflow.Change{}, r.event(ctx, "note", "", in.By, in.Text, nil)))
	return r.state, nil
}

// changeSeverity moves the incident to severity, records it, keeps the search
// attribute current and fires severity_raised or severity_lowered.
func (r *run) changeSeverity(ctx workflow.Context, severity, by, step, note string) int64 {
	before := r.facts()
	from := r.state.Severity
	r.state.Severity = severity
	if err := workflow.UpsertTypedSearchAttributes(ctx, AttrSeverity.ValueSet(severity)); err != nil {
		r.logger.Warn("could not update the severity search attribute", "error", err)
	}
	msg := fmt.Sprintf("Severity %s → %s", from, severity)
	if by != "" {
		msg += " by " + by
	}
	if note != "" {
		msg += ": " + note
	}
	seq := r.record(ctx, incidentflow.Change{}, r.event(ctx, "severity_changed", step, by, msg, map[string]any{"from": from, "to": severity}))
	r.details(ctx)
	if r.in.Process.SeverityRank(severity) < r.in.Process.SeverityRank(from) {
		r.fire(ctx, "severity_raised", before)
	} else {
		r.fire(ctx, "severity_lowered", before)
	}
	return seq
}

// validateOpen refuses a request to an incident that is over, and any
// request validateRequest refuses.
func (r *run) validateOpen(in any) error {
	if err := r.validateRequest(in); err != nil {
		return err
	}
	if dsl.IsFinalStatus(r.state.Status) {
		return refused("incident %s is %s", r.state.Ref, r.state.Status)
	}
	return nil
}

// hardHistoryLimit is the history length past which a run takes no more
// requests until it has continued as new: well before Temporal's 51,200
// events, where it would terminate the run.
const hardHistoryLimit = 40_000

// validateRequest refuses input beyond the limits of one request (the API
// checks them too; the run holds to them whoever sends it), and every
// request while the run's history is too long to take more.
func (r *run) validateRequest(in any) error {
	if d := incidentflow.CheckLimits(in); len(d) > 0 {
		return refused("%s %s", d[0].Field, d[0].Message)
	}
	if n := workflow.GetInfo(r.root).GetCurrentHistoryLength(); n >= hardHistoryLimit {
		return temporal.NewApplicationError(fmt.Sprintf("incident %s is busy: its run's history is %d events long and it takes no more changes until it has continued in a new run, which it does as soon as nothing is in flight; retry in a minute", r.state.Ref, n), BusyError)
	}
	return nil
}

func (r *run) validateAcknowledge(in AcknowledgeInput) error {
	if err := r.validateOpen(in); err != nil {
		return err
	}
	if strings.TrimSpace(in.By) == "" {
		return refused("say who acknowledges: \"by\" is required")
	}
	// A page running later in the incident (an executive escalation) takes
	// its own acknowledgement; a page already acknowledged, winding down, does not.
	if a := r.state.Acknowledged; a != nil && !slices.ContainsFunc(r.state.Escalations, func(e *Escalation) bool {
		return len(r.state.Acks) <= e.AcksBefore
	}) {
		return refused("incident %s was already acknowledged by %s at %s", r.state.Ref, a.By, a.At.UTC().Format(time.RFC3339))
	}
	return nil
}

func (r *run) acknowledge(ctx workflow.Context, in AcknowledgeInput) (State, error) {
	now := workflow.Now(ctx)
	ack := Acknowledgement{By: in.By, At: now}
	r.state.Acks = append(slices.Clone(r.state.Acks), ack)
	msg := "Acknowledged by " + in.By
	if len(r.state.Escalations) > 0 && !r.paged(in.By) {
		msg += ", who was not paged"
	}
	change := incidentflow.Change{}
	if r.state.Acknowledged == nil {
		r.state.Acknowledged = &ack
		change.AcknowledgedAt, change.AcknowledgedBy = &now, in.By
	}
	r.flush(ctx, r.record(ctx, change, r.event(ctx, "acknowledged", "", in.By, msg, nil)))
	r.details(ctx)
	return r.state, nil
}

func (r *run) validateSetStatus(in SetStatusInput) error {
	if err := r.validateOpen(in); err != nil {
		return err
	}
	switch {
	case !dsl.IsStatus(in.Status):
		return refused("unknown status %q: use one of %s", in.Status, strings.Join(dsl.Statuses, ", "))
	case in.Status == r.state.Status:
		return refused("incident %s is already %s", r.state.Ref, in.Status)
	}
	return nil
}

func (r *run) setStatus(ctx workflow.Context, in SetStatusInput) (State, error) {
	r.flush(ctx, r.changeStatus(ctx, in.Status, in.By, "", in.Note))
	return r.state, nil
}

func (r *run) validateSignal(in SignalInput) error {
	if err := r.validateOpen(in); err != nil {
		return err
	}
	if !slices.Contains(r.in.Process.Signals, in.Name) {
		return refused("%s incidents take no signal %q: their signals are %s", r.state.Type, in.Name, strings.Join(r.in.Process.Signals, ", "))
	}
	return nil
}

func (r *run) signal(ctx workflow.Context, in SignalInput) (State, error) {
	if _, seen := r.state.Signals[in.Name]; !seen {
		r.state.Signals[in.Name] = SignalRecord{At: workflow.Now(ctx), By: in.By, Payload: in.Payload}
	}
	msg := "Signal " + in.Name
	if in.By != "" {
		msg += " from " + in.By
	}
	var data map[string]any
	if len(in.Payload) > 0 {
		data = map[string]any{"payload": in.Payload}
	}
	seq := r.record(ctx, incidentflow.Change{}, r.event(ctx, "signal", "", in.By, msg, data))
	r.fire(ctx, "signal:"+in.Name, r.facts())
	r.flush(ctx, seq)
	return r.state, nil
}

// changeStatus moves the incident to status, records why, keeps the search
// attribute current, and returns the change's sequence number.
func (r *run) changeStatus(ctx workflow.Context, status, by, step, note string) int64 {
	before := r.facts()
	from := r.state.Status
	r.state.Status = status
	if by != "" {
		r.state.StatusBy, r.state.PersonStatus = by, status
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, AttrStatus.ValueSet(status)); err != nil {
		r.logger.Warn("could not update the status search attribute", "error", err)
	}
	msg := fmt.Sprintf("Status %s → %s", from, status)
	if by != "" {
		msg += " by " + by
	}
	if note != "" {
		msg += ": " + note
	}
	seq := r.record(ctx, incidentflow.Change{}, r.event(ctx, "status_changed", step, by, msg, map[string]any{"from": from, "to": status}))
	r.details(ctx)
	if !dsl.IsFinalStatus(status) {
		r.fire(ctx, "status_changed", before)
	}
	return seq
}
