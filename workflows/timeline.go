package workflows

// What a run records: timeline events with keys stable across replays,
// and the recorder that writes changes to the store in order, never giving
// up on one while the store is away.

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/dsl"
)

// event builds a timeline event with a dedup key stable across replays.
func (r *run) event(ctx workflow.Context, kind, step, actor, msg string, data map[string]any) incidentflow.TimelineEvent {
	r.state.Seq++
	e := incidentflow.TimelineEvent{At: workflow.Now(ctx), Kind: kind, Step: step, Actor: actor, Message: msg, Data: data,
		DedupKey: r.eventKey(ctx), Seq: r.state.Seq}
	// The state carries the recent events in short, so that its size stays
	// bounded whatever notes people write; the store keeps them whole.
	if id, ok := ctx.Value(updateKey{}).(string); ok {
		r.made[id] = append(r.made[id], e)
	}
	recent := e
	if m := []rune(msg); len(m) > recentMessage {
		recent.Message = string(m[:recentMessage-1]) + "…"
	}
	r.state.Recent = append(r.state.Recent, recent)
	if len(r.state.Recent) > recentLimit {
		r.state.Recent = slices.Clone(r.state.Recent[len(r.state.Recent)-recentLimit:])
	}
	return e
}

// eventKey names an event by what caused it, so that the same event written
// again is the same row. The recorder's local activity writes an event
// before the workflow task that made it completes; a task that fails then
// (a worker dying, a completion refused) is done again, maybe with other
// updates and timers in another order, and a key counted across the whole
// run would name the same event differently and duplicate it. An update's
// events are counted by its update ID, a step's by its own frame (which
// carries the count into a new run), and the run's own few by its count.
func (r *run) eventKey(ctx workflow.Context) string {
	wf := incidentflow.WorkflowID(r.state.Ref)
	if id, ok := ctx.Value(updateKey{}).(string); ok {
		r.updateEvents[id]++
		return incidentflow.UpdateEventPrefix(r.state.Ref, id) + strconv.Itoa(r.updateEvents[id])
	}
	if f := frame(ctx); f.Key != "" {
		f.Events++
		return fmt.Sprintf("%s/%d", f.Key, f.Events)
	}
	return fmt.Sprintf("%s/%d", wf, r.state.Seq)
}

// record queues a change for the store, completing it with the current state,
// and returns its sequence number for flush.
func (r *run) record(ctx workflow.Context, c incidentflow.Change, events ...incidentflow.TimelineEvent) int64 {
	c.Ref = r.state.Ref
	c.Type, c.DeclaredAt = r.state.Type, r.in.Incident.DeclaredAt
	if r.in.Process.Restricted() { // metrics need no token: they show no restricted incident's kind
		c.Type = incidentflow.RestrictedType
	}
	c.At = workflow.Now(ctx)
	c.Status = r.state.Status
	c.Severity = r.state.Severity
	c.Events = events
	r.queue = append(r.queue, c)
	r.queued++
	return r.queued
}

// flush waits until the change with sequence number seq is in the store, so an
// update's caller reads what it just did.
func (r *run) flush(ctx workflow.Context, seq int64) {
	_ = workflow.Await(ctx, func() bool { return r.written >= seq })
}

// recorder writes queued changes in order with a local activity. It never gives
// up on a change: the store being down delays the timeline, it does not lose it.
func (r *run) recorder(ctx workflow.Context) {
	ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout:    15 * time.Second,
		ScheduleToCloseTimeout: 7 * 24 * time.Hour,
		RetryPolicy:            &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute},
		Summary:                "Record on the timeline",
	})
	for {
		if err := workflow.Await(ctx, func() bool { return len(r.queue) > 0 || r.stale }); err != nil {
			return
		}
		if len(r.queue) == 0 { // the state moved, and no change carries it
			r.publish(ctx)
			continue
		}
		c := r.queue[0]
		r.withState(&c)
		if err := r.result(ctx, workflow.ExecuteLocalActivity(ctx, a.RecordChange, c), nil); err != nil {
			var permanent *temporal.ApplicationError
			if ctx.Err() == nil && !(errors.As(err, &permanent) && permanent.NonRetryable()) &&
				workflow.GetVersion(ctx, "recorder-never-gives-up", workflow.DefaultVersion, 1) == 1 {
				// A week of retries ran out: the store has been away that
				// long, and the change still goes to it once it is back.
				r.logger.Warn("could not record a change for a week; trying on", "error", err)
				continue
			}
			r.logger.Warn("could not record a change; it is dropped", "error", err)
		}
		r.queue = r.queue[1:]
		r.written++
	}
}

// touch says the state moved with no change to carry it to the store (a
// step began or ended, a page went up a level): the recorder publishes it.
// Runs begun before FeatureStateRecorded write their state only with
// their changes, as they did.
func (r *run) touch() {
	r.stale = r.stale || r.in.Features >= FeatureStateRecorded
}

// StateSink takes the states runs publish as they move: the worker writes
// the latest of each run to the store, so that reads served from it follow
// the run. Publishing is no command, so it costs the history nothing; what
// is published and lost (the worker dying first) is written again with the
// run's next change, and a newer version always wins.
type StateSink interface {
	Publish(ref string, version int64, at time.Time, state json.RawMessage)
}

var stateSink atomic.Pointer[StateSink]

// SetStateSink makes the runs of this process publish their states to s
// (nil: to nowhere).
func SetStateSink(s StateSink) {
	if s == nil {
		stateSink.Store(nil)
		return
	}
	stateSink.Store(&s)
}

// publish gives the sink the state as it now stands. A replay publishes
// nothing, but counts versions as the run it replays did.
func (r *run) publish(ctx workflow.Context) {
	r.stale = false
	r.state.StateVersion++
	sink := stateSink.Load() //workflowcheck:ignore the sink only ever receives
	if sink == nil || workflow.IsReplaying(ctx) {
		return
	}
	if b := r.stateJSON(); b != nil {
		(*sink).Publish(r.state.Ref, r.state.StateVersion, workflow.Now(ctx), b)
	}
}

// withState gives a change the run's state as it now stands and its
// version. The state goes only into the local activity's input, which the
// history does not keep, so it costs the history nothing and replays need
// not match it.
func (r *run) withState(c *incidentflow.Change) {
	r.stale = false
	r.state.StateVersion++
	c.State, c.StateVersion = r.stateJSON(), r.state.StateVersion
}

// stateJSON is the state as the store keeps it (nil if it cannot be
// written: the store keeps the one before, and the run goes on).
func (r *run) stateJSON() json.RawMessage {
	st := r.state
	if dsl.IsFinalStatus(st.Status) {
		// Closing ends whatever ran: what is being cancelled runs no more.
		st.Active, st.Escalations, st.Approvals = []Activity{}, []*Escalation{}, []*PendingApproval{}
	}
	// Encoding sorts map keys and touches no clock; what it gives is only
	// ever an activity's input or the sink's, never a command.
	b, err := json.Marshal(st) //workflowcheck:ignore
	if err != nil {
		r.logger.Warn("could not encode the state for the store", "error", err)
		return nil
	}
	return b
}
