package workflows

import (
	"errors"
	"fmt"
	"maps"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/activities"
	"github.com/incidentflow/incidentflow/channels"
	"github.com/incidentflow/incidentflow/dsl"
)

// steps runs a sequence in order. It stops early only when the run is
// cancelled (the incident was closed or declined).
func (r *run) steps(ctx workflow.Context, steps []dsl.Step, path string) {
	for i := range steps {
		if ctx.Err() != nil {
			return
		}
		r.step(ctx, &steps[i], fmt.Sprintf("%s[%d]", path, i))
	}
}

// stepRef names a step for keys and the timeline: its id, else its position.
func stepRef(s *dsl.Step, path string) string {
	if s.ID != "" {
		return s.ID
	}
	return path
}

func (r *run) step(ctx workflow.Context, s *dsl.Step, path string) {
	ref := stepRef(s, path)
	label := s.Label()
	if s.If != "" {
		ok, err := r.eval(s.If)
		if err != nil {
			r.record(ctx, incidentflow.Change{}, r.event(ctx, "step_failed", ref, "",
				fmt.Sprintf("%s: condition could not be evaluated, step skipped: %v", label, err), nil))
			return
		}
		if !ok {
			r.record(ctx, incidentflow.Change{}, r.event(ctx, "step_skipped", ref, "",
				fmt.Sprintf("Skipped %s: %s is false", label, s.If), nil))
			return
		}
	}
	r.state.Iterations[ref]++
	key := fmt.Sprintf("%s/%s#%d", incidentflow.WorkflowID(r.state.Ref), ref, r.state.Iterations[ref])
	switch {
	case s.Notify != nil:
		r.notify(ctx, s, ref, key)
	case s.Set != nil:
		r.set(ctx, s.Set, ref)
	case s.Wait != nil:
		r.wait(ctx, s, ref, path)
	case s.Sleep != nil:
		r.sleep(ctx, s)
	}
}

// eval evaluates a condition against the incident as it is now.
func (r *run) eval(expr string) (bool, error) {
	return r.conds.Eval(expr, r.facts()) //workflowcheck:ignore CEL evaluation is pure
}

// activate shows a step as running, with what it waits for; the returned func
// removes it again.
func (r *run) activate(ctx workflow.Context, act Activity) func() {
	r.state.Active = append(r.state.Active, act)
	r.details(ctx)
	return func() {
		for i := range r.state.Active {
			if r.state.Active[i] == act {
				r.state.Active = append(r.state.Active[:i:i], r.state.Active[i+1:]...)
				break
			}
		}
		if ctx.Err() == nil {
			r.details(ctx)
		}
	}
}

func (r *run) notify(ctx workflow.Context, s *dsl.Step, ref, key string) {
	msg, err := dsl.Render(s.Notify.Message, dsl.TemplateData(r.facts(), r.in.Links)) //workflowcheck:ignore template rendering is pure
	if err != nil {
		r.record(ctx, incidentflow.Change{}, r.event(ctx, "step_failed", ref, "",
			fmt.Sprintf("%s: the message could not be written (%v); sending the incident title instead", s.Label(), err), nil))
		msg = fmt.Sprintf("%s: %s", r.state.Ref, r.state.Title)
	}
	done := r.activate(ctx, Activity{Step: s.Label(), Kind: "notify", Waiting: "delivering"})
	defer done()
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    time.Minute,
		ScheduleToCloseTimeout: time.Hour,
		RetryPolicy:            &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute},
		Summary:                s.Label(),
	})
	in := activities.NotifyInput{Incident: r.channelIncident(), Key: key, Step: ref, Event: "notify",
		Targets: s.Notify.To, Roles: maps.Clone(r.state.Roles), Message: msg}
	var res activities.NotifyResult
	if err := workflow.ExecuteActivity(actx, a.Notify, in).Get(actx, &res); err != nil {
		if ctx.Err() != nil {
			return
		}
		r.record(ctx, incidentflow.Change{}, r.event(ctx, "step_failed", ref, "",
			fmt.Sprintf("%s: delivery gave up: %v", s.Label(), rootCause(err)), nil))
		return
	}
	for _, n := range res.Nobody {
		r.record(ctx, incidentflow.Change{}, r.event(ctx, "step_failed", ref, "", fmt.Sprintf("%s: nobody to reach for %s", s.Label(), n), nil))
	}
}

func (r *run) channelIncident() channels.Incident {
	return channels.Incident{Ref: r.state.Ref, Type: r.state.Type, Title: r.state.Title, Severity: r.state.Severity,
		Status: r.state.Status, URL: r.in.Links.Incident}
}

// rootCause unwraps Temporal's activity error to the message people can act on.
func rootCause(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}

func (r *run) set(ctx workflow.Context, set *dsl.Set, ref string) {
	var events []incidentflow.TimelineEvent
	change := incidentflow.Change{}
	if set.Severity != "" && set.Severity != r.state.Severity {
		from := r.state.Severity
		r.state.Severity = set.Severity
		if err := workflow.UpsertTypedSearchAttributes(ctx, AttrSeverity.ValueSet(set.Severity)); err != nil {
			r.logger.Warn("could not update the severity search attribute", "incident", r.state.Ref, "error", err)
		}
		events = append(events, r.event(ctx, "severity_changed", ref, "", fmt.Sprintf("Severity %s → %s", from, set.Severity),
			map[string]any{"from": from, "to": set.Severity}))
	}
	if len(set.Fields) > 0 {
		fields := maps.Clone(r.state.Fields)
		maps.Copy(fields, set.Fields)
		r.state.Fields = fields
		change.Fields = fields
		events = append(events, r.event(ctx, "fields_changed", ref, "", "Fields set by the process", map[string]any{"fields": set.Fields}))
	}
	maps.Copy(r.state.Roles, set.Roles)
	if len(set.Roles) > 0 {
		events = append(events, r.event(ctx, "roles_changed", ref, "", "Roles assigned by the process", map[string]any{"roles": set.Roles}))
	}
	if len(events) > 0 {
		r.record(ctx, change, events...)
	}
	if set.Status != "" && set.Status != r.state.Status {
		r.changeStatus(ctx, set.Status, "", ref, "")
	}
	r.details(ctx)
}

func (r *run) wait(ctx workflow.Context, s *dsl.Step, ref, path string) {
	w := s.Wait
	what := ""
	switch {
	case w.For != "" && w.Signal != "":
		what = fmt.Sprintf("until %s or signal %s", w.For, w.Signal)
	case w.For != "":
		what = "until " + w.For
	default:
		what = "for signal " + w.Signal
	}
	act := Activity{Step: s.Label(), Kind: "wait", Waiting: "waiting " + what}
	var timeout time.Duration
	if w.Timeout != nil {
		now := workflow.Now(ctx)
		until := w.Timeout.After(now, r.in.Calendar)
		timeout = until.Sub(now)
		act.Until = &until
	}
	done := r.activate(ctx, act)
	defer done()

	gotSignal := ""
	evalFailed := false
	cond := func() bool {
		if w.Signal != "" {
			if _, ok := r.state.Signals[w.Signal]; ok {
				gotSignal = w.Signal
				return true
			}
		}
		if w.For != "" {
			ok, err := r.eval(w.For)
			if err != nil && !evalFailed {
				evalFailed = true
				r.logger.Warn("wait condition failed", "incident", r.state.Ref, "step", ref, "error", err)
			}
			return ok
		}
		return false
	}
	var satisfied bool
	var err error
	if timeout > 0 {
		satisfied, err = workflow.AwaitWithOptions(ctx, workflow.AwaitOptions{Timeout: timeout,
			TimerOptions: workflow.TimerOptions{Summary: fmt.Sprintf("%s: waiting up to %s", s.Label(), w.Timeout)}}, cond)
	} else {
		err = workflow.Await(ctx, cond)
		satisfied = err == nil
	}
	if err != nil { // cancelled: the incident is over
		return
	}
	if s.ID != "" {
		r.state.Outputs[s.ID] = map[string]any{"timed_out": !satisfied, "signal": gotSignal}
	}
	if satisfied {
		return
	}
	r.record(ctx, incidentflow.Change{}, r.event(ctx, "wait_timed_out", ref, "",
		fmt.Sprintf("%s: still waiting %s after %s", s.Label(), what, w.Timeout), nil))
	r.steps(ctx, w.OnTimeout, path+".on_timeout")
}

func (r *run) sleep(ctx workflow.Context, s *dsl.Step) {
	now := workflow.Now(ctx)
	until := s.Sleep.For.After(now, r.in.Calendar)
	done := r.activate(ctx, Activity{Step: s.Label(), Kind: "sleep", Waiting: "sleeping " + s.Sleep.For.String(), Until: &until})
	defer done()
	// A cancelled timer means the incident is over; there is nothing to record.
	_ = workflow.NewTimerWithOptions(ctx, until.Sub(now), workflow.TimerOptions{Summary: fmt.Sprintf("%s: sleeping %s", s.Label(), s.Sleep.For)}).Get(ctx, nil)
}
