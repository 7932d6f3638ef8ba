// Package bench measures incidentflow end to end: declare throughput and
// latency over HTTP, the time from a declaration to the first page, the
// interpreter against a hand-written Temporal workflow doing the same work,
// and many open incidents at once. `incidentflow bench` runs it.
package bench

import (
	"embed"
	"fmt"
	"io/fs"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/activities"
	"github.com/incidentflow/incidentflow/channels"
	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/workflows"
)

//go:embed processes/*.yaml
var files embed.FS

// Processes are the benchmark's process files and directory.
var Processes, _ = fs.Sub(files, "processes")

// BaselineName is the registered name of BaselineWorkflow.
const BaselineName = "baseline"

// a is the activities' receiver for naming them; the worker registers the real one.
var a *activities.Activities

// PaddedBaselineName is the registered name of PaddedBaselineWorkflow.
const PaddedBaselineName = "baseline-padded"

// BaselinePadding is how many history events PaddedBaselineWorkflow adds.
const BaselinePadding = 10

// BaselineWorkflow is processes/bench.yaml written by hand, as a Temporal
// developer would: the same activities and local activities, with the same
// options, in the same order, and the same updates, without the interpreter.
// It is the yardstick for the interpreter's overhead.
func BaselineWorkflow(ctx workflow.Context, in workflows.Input) error {
	return baseline(ctx, in, 0)
}

// PaddedBaselineWorkflow is BaselineWorkflow with BaselinePadding more
// history events: as many look-ups of the policy, each a local activity's
// marker, in the workflow task that closes the run. The benchmark counts
// its events to check its own counting.
func PaddedBaselineWorkflow(ctx workflow.Context, in workflows.Input) error {
	return baseline(ctx, in, BaselinePadding)
}

func baseline(ctx workflow.Context, in workflows.Input, padding int) error {
	inc := in.Incident
	status := inc.Status
	acked, held := false, false
	seq := 0
	la := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 15 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute}})
	record := func(ctx workflow.Context, c incidentflow.Change, kind, msg string) {
		seq++
		now := workflow.Now(ctx)
		c.Ref, c.Type, c.DeclaredAt, c.At, c.Status, c.Severity = inc.Ref, inc.Type, inc.DeclaredAt, now, status, inc.Severity
		c.Events = []incidentflow.TimelineEvent{{At: now, Kind: kind, Message: msg,
			DedupKey: fmt.Sprintf("%s/%d", incidentflow.WorkflowID(inc.Ref), seq)}}
		_ = workflow.ExecuteLocalActivity(la, a.RecordChange, c).Get(ctx, nil)
	}
	if err := workflow.SetUpdateHandler(ctx, workflows.UpdateAcknowledge, func(ctx workflow.Context, in workflows.AcknowledgeInput) error {
		acked = true
		now := workflow.Now(ctx)
		record(ctx, incidentflow.Change{AcknowledgedAt: &now, AcknowledgedBy: in.By}, "acknowledged", "Acknowledged by "+in.By)
		return nil
	}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandler(ctx, workflows.UpdateSetStatus, func(ctx workflow.Context, in workflows.SetStatusInput) error {
		status = in.Status
		if err := workflow.UpsertTypedSearchAttributes(ctx, workflows.AttrStatus.ValueSet(status)); err != nil {
			return err
		}
		record(ctx, incidentflow.Change{}, "status_changed", "Status → "+status)
		return nil
	}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandler(ctx, workflows.UpdateReviewHeld, func(ctx workflow.Context, in workflows.ReviewHeldInput) error {
		held = true
		record(ctx, incidentflow.Change{}, "review_held", "Review held, marked by "+in.By)
		return nil
	}); err != nil {
		return err
	}

	record(ctx, incidentflow.Change{}, "declared", "Declared: "+inc.Title)
	act := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute, ScheduleToCloseTimeout: time.Hour,
		HeartbeatTimeout: workflows.HeartbeatTimeout,
		RetryPolicy:      &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute}})
	notify := func(key, event string, targets []dsl.Target, msg string, level int, inv *channels.Invitation) error {
		return workflow.ExecuteActivity(act, a.Notify, activities.NotifyInput{Key: key, Step: key, Event: event, Level: level,
			Incident: channels.Incident{Ref: inc.Ref, Type: inc.Type, Title: inc.Title, Severity: inc.Severity, Status: status, SeverityLevel: 1},
			Targets:  targets, Message: msg, Invitation: inv}).Get(ctx, nil)
	}
	key := incidentflow.WorkflowID(inc.Ref)

	// Page: one level, then wait for the acknowledgement.
	var pol dsl.Policy
	if err := workflow.ExecuteLocalActivity(la, a.LookupPolicy, "bench").Get(ctx, &pol); err != nil {
		return err
	}
	level := pol.Levels[0]
	if err := notify(key+"/page/level-1", "page", level.Targets, inc.Ref+" page", 1, nil); err != nil {
		return err
	}
	record(ctx, incidentflow.Change{}, "paged", "Paged level 1")
	if _, err := workflow.AwaitWithTimeout(ctx, level.AckWithin.Fixed, func() bool { return acked }); err != nil {
		return err
	}

	// Three notifications.
	hook := []dsl.Target{{Kind: "channel", ID: "hook"}}
	for _, n := range []string{"one", "two", "three"} {
		if err := notify(key+"/"+n, "notify", hook, inc.Ref+" "+n, 0, nil); err != nil {
			return err
		}
	}

	// Until resolved.
	if err := workflow.Await(ctx, func() bool { return status == "resolved" }); err != nil {
		return err
	}

	// The review: a slot, the invitation, then wait until it is held.
	now := workflow.Now(ctx)
	start := in.Calendar.MeetingSlot((dsl.Duration{BusinessDays: 1}).After(now, in.Calendar), time.Hour)
	record(ctx, incidentflow.Change{}, "review_scheduled", "Review scheduled")
	inv := &channels.Invitation{UID: key + "/review@incidentflow", Start: start, End: start.Add(time.Hour), Summary: "Review of " + inc.Ref, Stamp: now}
	if err := notify(key+"/review", "review", []dsl.Target{{Kind: "person", ID: "alice"}}, "Review of "+inc.Ref, 0, inv); err != nil {
		return err
	}
	if err := workflow.Await(ctx, func() bool { return held }); err != nil {
		return err
	}

	for range padding {
		if err := workflow.ExecuteLocalActivity(la, a.LookupPolicy, "bench").Get(ctx, nil); err != nil {
			return err
		}
	}
	status = "closed"
	if err := workflow.UpsertTypedSearchAttributes(ctx, workflows.AttrStatus.ValueSet(status)); err != nil {
		return err
	}
	record(ctx, incidentflow.Change{}, "status_changed", "Status → closed")
	return workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
}
