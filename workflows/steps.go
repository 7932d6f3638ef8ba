package workflows

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/activities"
	"github.com/incidentflow/incidentflow/dsl"
)

// steps runs a sequence in order and reports whether any of its steps failed.
// A failed step is recorded and the sequence goes on; background steps start
// and the sequence goes on at once. It stops early only when the run is
// cancelled (the incident was closed or declined).
func (r *run) steps(ctx workflow.Context, steps []dsl.Step, path string) (failed bool) {
	return r.stepsFrom(ctx, steps, path, 0)
}

// stepsFrom runs a sequence from its step at index from.
func (r *run) stepsFrom(ctx workflow.Context, steps []dsl.Step, path string, from int) (failed bool) {
	for i := from; i < len(steps); i++ {
		if ctx.Err() != nil {
			return failed
		}
		s, p := &steps[i], fmt.Sprintf("%s[%d]", path, i)
		if s.Background {
			workflow.Go(ctx, func(c workflow.Context) { r.step(c, s, p) })
			continue
		}
		if r.step(ctx, s, p) {
			failed = true
		}
	}
	return failed
}

// stepRef names a step for keys and the timeline: its id, else its position.
func stepRef(s *dsl.Step, path string) string {
	if s.ID != "" {
		return s.ID
	}
	return path
}

// step runs one step unless its condition is false, and reports whether it
// failed: what it does failed for good. Steps with an id record that as
// steps.ID.output.failed.
func (r *run) step(ctx workflow.Context, s *dsl.Step, path string) (failed bool) {
	ref := stepRef(s, path)
	label := s.Label()
	// A step resumed in a new run keeps its frame, its iteration and its
	// decision to run.
	var f *Frame
	if p, _ := ctx.Value(resumeKey{}).(string); p == path {
		f = r.saved[path]
	}
	resuming := f != nil
	if resuming {
		delete(r.saved, path)
		f.resumed = true
	} else {
		f = &Frame{Path: path, Kind: s.Kind(), Acks: ackBaseline(ctx), V: FrameVersion}
	}
	r.frames[path] = f
	defer delete(r.frames, path)
	ctx = workflow.WithValue(ctx, frameKey{}, f)
	if s.If != "" && !resuming {
		ok, err := r.eval(s.If)
		if err != nil {
			r.stepFailed(ctx, s, ref, fmt.Sprintf("%s: condition could not be evaluated, step skipped: %v", label, err))
			return true
		}
		if !ok {
			r.record(ctx, incidentflow.Change{}, r.event(ctx, "step_skipped", ref, "",
				fmt.Sprintf("Skipped %s: %s is false", label, s.If), nil))
			return false
		}
	}
	if !resuming {
		r.state.Iterations[ref]++
	}
	key := fmt.Sprintf("%s/%s#%d", incidentflow.WorkflowID(r.state.Ref), ref, r.state.Iterations[ref])
	f.Key = key
	switch {
	case s.Notify != nil:
		failed = r.notify(ctx, s, ref, key)
	case s.Set != nil:
		r.set(ctx, s.Set, ref)
	case s.Wait != nil:
		failed = r.wait(ctx, s, ref, path)
	case s.Sleep != nil:
		r.sleep(ctx, s)
	case s.Steps != nil && resuming:
		failed = r.resumeNested(ctx, f, s.Steps, path+".steps")
	case s.Steps != nil:
		failed = r.steps(ctx, s.Steps, path+".steps")
	case s.Parallel != nil:
		failed = r.parallel(ctx, s, ref, path)
	case s.Repeat != nil:
		failed = r.repeat(ctx, s, path)
	case s.Deadline != nil:
		failed = r.deadline(ctx, s, ref, path, key)
	case s.HTTP != nil:
		failed = r.callHTTP(ctx, s, ref, key)
	case s.Page != nil:
		failed = r.page(ctx, s, ref, key)
	case s.Approval != nil:
		failed = r.approval(ctx, s, ref, path)
	case s.Task != nil:
		failed = r.task(ctx, s, ref, key)
	case s.Review != nil:
		failed = r.review(ctx, s, ref, key)
	}
	r.output(s, "failed", failed)
	return failed
}

// output records one output value of a step with an id.
func (r *run) output(s *dsl.Step, name string, v any) {
	if s.ID == "" {
		return
	}
	out := maps.Clone(r.state.Outputs[s.ID])
	if out == nil {
		out = map[string]any{}
	}
	out[name] = v
	r.state.Outputs[s.ID] = out
	r.touch()
}

func (r *run) stepFailed(ctx workflow.Context, s *dsl.Step, ref, msg string) {
	r.record(ctx, incidentflow.Change{}, r.event(ctx, "step_failed", ref, "", msg, nil))
	r.output(s, "failed", true)
}

// parallel runs its branches together and waits for all of them. The join
// fails with a branch unless the step continues on error. Resumed, it runs
// again the branches that were still running.
func (r *run) parallel(ctx workflow.Context, s *dsl.Step, ref, path string) bool {
	f, rf := frame(ctx), r.resumed(ctx)
	done, started := 0, 0
	for i := range s.Parallel {
		b, p := &s.Parallel[i], fmt.Sprintf("%s.parallel[%d]", path, i)
		bctx := ctx
		if rf != nil {
			if _, running := r.saved[p]; !running {
				continue // finished before this run
			}
			bctx = r.resuming(ctx, p)
		}
		started++
		workflow.Go(bctx, func(c workflow.Context) {
			if r.step(c, b, p) {
				f.Failures++
			}
			done++
		})
	}
	if err := workflow.Await(ctx, func() bool { return done == started }); err != nil {
		return false
	}
	if f.Failures > 0 && !s.ContinueOnError {
		r.record(ctx, incidentflow.Change{}, r.event(ctx, "step_failed", ref, "",
			fmt.Sprintf("%s: %d of %d branches failed", s.Label(), f.Failures, len(s.Parallel)), nil))
		return true
	}
	return false
}

// repeat runs its steps at once, then every interval, until its condition
// holds. The condition is checked before each round and while waiting, so a
// change that satisfies it ends the repeat at once. There is no cap on rounds.
func (r *run) repeat(ctx workflow.Context, s *dsl.Step, path string) (failed bool) {
	rep := s.Repeat
	f, rf := frame(ctx), r.resumed(ctx)
	until := func() bool {
		ok, err := r.eval(rep.Until)
		if err != nil {
			r.logger.Warn("repeat condition failed", "step", s.Label(), "error", err)
		}
		return ok
	}
	round := 1
	resumeRound, resumeWait := false, false
	if rf != nil {
		round, failed = rf.Round, rf.Failed
		resumeRound, resumeWait = rf.Phase == "round", rf.Phase == "between"
	}
	for ; ctx.Err() == nil && (resumeRound || resumeWait || !until()); round++ {
		f.Round = round
		var roundFailed bool
		switch {
		case resumeWait:
		case resumeRound:
			f.Phase = "round"
			roundFailed = r.resumeSequence(ctx, rep.Steps, path+".repeat")
		default:
			f.Phase = "round"
			roundFailed = r.steps(ctx, rep.Steps, path+".repeat")
		}
		if roundFailed {
			failed, f.Failed = true, true
		}
		now := workflow.Now(ctx)
		next := rep.Every.After(now, r.in.Calendar)
		if resumeWait && rf.Until != nil {
			next = *rf.Until
		}
		resumeRound, resumeWait = false, false
		f.Phase, f.Until = "between", &next
		done := r.activate(ctx, Activity{Step: s.Label(), Kind: "repeat", Waiting: fmt.Sprintf("round %d done; next every %s until %s", round, rep.Every, rep.Until), Until: &next})
		_, err := workflow.AwaitWithOptions(ctx, workflow.AwaitOptions{Timeout: max(next.Sub(now), time.Millisecond),
			TimerOptions: workflow.TimerOptions{Summary: fmt.Sprintf("%s: next round in %s", s.Label(), rep.Every)}}, until)
		done()
		if err != nil {
			break
		}
	}
	return failed
}

// awaitWithin waits until cond holds or, when timeout is positive, until the
// timeout passes, with a timer the Temporal UI shows under summary. It
// reports whether cond held; an error means the run was cancelled.
func awaitWithin(ctx workflow.Context, timeout time.Duration, summary string, cond func() bool) (bool, error) {
	if timeout <= 0 {
		err := workflow.Await(ctx, cond)
		return err == nil, err
	}
	return workflow.AwaitWithOptions(ctx, workflow.AwaitOptions{Timeout: timeout, TimerOptions: workflow.TimerOptions{Summary: summary}}, cond)
}

// eval evaluates a condition against the incident as it is now.
func (r *run) eval(expr string) (bool, error) {
	return r.conds.Eval(expr, r.facts())
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
		r.touch()
		if ctx.Err() == nil {
			r.details(ctx)
		}
	}
}

func (r *run) notify(ctx workflow.Context, s *dsl.Step, ref, key string) (failed bool) {
	msg, err := dsl.Render(s.Notify.Message, dsl.TemplateData(r.messageFacts(s), r.in.Links))
	if err != nil {
		r.record(ctx, incidentflow.Change{}, r.event(ctx, "step_failed", ref, "",
			fmt.Sprintf("%s: the message could not be written (%v); sending the incident title instead", s.Label(), err), nil))
		msg = fmt.Sprintf("%s: %s", r.state.Ref, dsl.Unlinked(r.state.Title))
	}
	done := r.activate(ctx, Activity{Step: s.Label(), Kind: "notify", Waiting: "delivering"})
	defer done()
	return r.deliver(ctx, s, ref, key, s.Notify.To, msg)
}

// deliver sends msg to targets through the notify activity, with the step's
// retry and timeout, and reports whether a delivery failed for good.
func (r *run) deliver(ctx workflow.Context, s *dsl.Step, ref, key string, targets []dsl.Target, msg string) (failed bool) {
	actx := workflow.WithActivityOptions(ctx, activityOptions(s))
	in := activities.NotifyInput{Incident: r.channelIncident(), Actions: r.in.Links.Actions, Key: key, Step: ref, Event: "notify",
		Targets: targets, Roles: maps.Clone(r.state.Roles), Message: msg}
	return r.notifyResult(ctx, s, ref, workflow.ExecuteActivity(actx, a.Notify, in))
}

// notifyResult waits for a notify activity and records what went wrong; it
// reports whether a delivery failed for good.
func (r *run) notifyResult(ctx workflow.Context, s *dsl.Step, ref string, f workflow.Future) (failed bool) {
	var res activities.NotifyResult
	if err := r.delivery(ctx, f, &res); err != nil {
		if ctx.Err() != nil {
			return false
		}
		r.record(ctx, incidentflow.Change{}, r.event(ctx, "step_failed", ref, "",
			fmt.Sprintf("%s: delivery gave up: %v", s.Label(), rootCause(err)), nil))
		return true
	}
	r.state.Tracked = r.state.Tracked || res.Tracked
	for _, n := range res.Nobody {
		r.record(ctx, incidentflow.Change{}, r.event(ctx, "step_failed", ref, "", fmt.Sprintf("%s: nobody to reach for %s", s.Label(), n), nil))
	}
	return len(res.Failed) > 0
}

// callHTTP renders an http step's request and makes it through the CallHTTP
// activity; the response status and output fields become the step's outputs.
func (r *run) callHTTP(ctx workflow.Context, s *dsl.Step, ref, key string) (failed bool) {
	h := s.HTTP
	data := dsl.TemplateData(r.messageFacts(s), r.in.Links)
	in := activities.HTTPInput{Ref: r.state.Ref, Key: key, Step: ref, Method: h.Method,
		SecretHeaders: h.SecretHeaders, Expect: h.Expect, Output: h.Output, Headers: map[string]string{}}
	err := func() error {
		var err error
		if in.URL, err = dsl.Render(h.URL, data); err != nil {
			return fmt.Errorf("url: %w", err)
		}
		headers := slices.Sorted(maps.Keys(h.Headers)) //workflowcheck:ignore
		for _, k := range headers {
			if in.Headers[k], err = dsl.Render(h.Headers[k], data); err != nil {
				return fmt.Errorf("header %s: %w", k, err)
			}
		}
		if in.Body, err = dsl.RenderValue(h.Body, data); err != nil {
			return fmt.Errorf("body: %w", err)
		}
		return nil
	}()
	if err != nil {
		r.stepFailed(ctx, s, ref, fmt.Sprintf("%s: the request could not be written: %v", s.Label(), err))
		return true
	}
	done := r.activate(ctx, Activity{Step: s.Label(), Kind: "http", Waiting: "calling " + h.Method + " " + in.URL})
	defer done()
	opts := activityOptions(s)
	opts.HeartbeatTimeout = 0 // one request, bounded by its own timeout
	actx := workflow.WithActivityOptions(ctx, opts)
	var res activities.HTTPResult
	if err := r.delivery(actx, workflow.ExecuteActivity(actx, a.CallHTTP, in), &res); err != nil {
		if ctx.Err() != nil {
			return false
		}
		r.stepFailed(ctx, s, ref, fmt.Sprintf("%s: %v", s.Label(), rootCause(err)))
		return true
	}
	r.output(s, "status", int64(res.Status))
	names := slices.Sorted(maps.Keys(res.Output)) //workflowcheck:ignore
	for _, name := range names {
		r.output(s, name, res.Output[name])
	}
	return false
}

// HeartbeatTimeout is how long an activity may go without a heartbeat before
// Temporal gives its work to another worker. Each channel's send is bounded
// well below it (webhooks 10s, SMTP 15s).
const HeartbeatTimeout = 20 * time.Second

// activityOptions are the options of the activities a step causes: by default
// retried with backoff for up to an hour; the step's retry and timeout override.
func activityOptions(s *dsl.Step) workflow.ActivityOptions {
	opts := workflow.ActivityOptions{
		StartToCloseTimeout:    time.Minute,
		ScheduleToCloseTimeout: time.Hour,
		// Deliveries heartbeat before each recipient, so a worker that dies
		// mid-step is noticed in seconds and the retry carries on.
		HeartbeatTimeout: HeartbeatTimeout,
		RetryPolicy:      &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute},
		Summary:          s.Label(),
	}
	if s.Timeout != nil && s.Timeout.Fixed > 0 { // validation refuses any other
		opts.ScheduleToCloseTimeout = s.Timeout.Fixed
		opts.StartToCloseTimeout = min(opts.StartToCloseTimeout, s.Timeout.Fixed)
	}
	if rt := s.Retry; rt != nil {
		opts.RetryPolicy.MaximumAttempts = int32(rt.Attempts)
		if rt.Backoff != nil {
			opts.RetryPolicy.InitialInterval = rt.Backoff.Fixed
		}
		if rt.MaxBackoff != nil {
			opts.RetryPolicy.MaximumInterval = rt.MaxBackoff.Fixed
		}
	}
	return opts
}

func (r *run) channelIncident() incidentflow.IncidentBrief {
	return incidentflow.IncidentBrief{Ref: r.state.Ref, Type: r.state.Type, Title: r.state.Title, Severity: r.state.Severity,
		Status: r.state.Status, URL: r.in.Links.Incident, SeverityLevel: r.in.Process.SeverityRank(r.state.Severity) + 1}
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
	before := r.facts()
	var events []incidentflow.TimelineEvent
	change := incidentflow.Change{}
	var changedFields []string
	if len(set.Fields) > 0 {
		fields := maps.Clone(r.state.Fields)
		// The keys are sorted at once, so handlers for changed fields start in
		// the same order on replay.
		keys := slices.Sorted(maps.Keys(set.Fields)) //workflowcheck:ignore
		for _, k := range keys {
			if !dsl.SameFieldValue(fields[k], set.Fields[k]) {
				changedFields = append(changedFields, k)
			}
			fields[k] = set.Fields[k]
		}
		r.state.Fields = fields
		change.Fields = fields
		events = append(events, r.event(ctx, "fields_changed", ref, "", "Fields set by the process", map[string]any{"fields": set.Fields}))
	}
	if len(set.Roles) > 0 {
		roles := maps.Clone(r.state.Roles)
		maps.Copy(roles, set.Roles)
		r.state.Roles = roles
		e := r.event(ctx, "roles_changed", ref, "", "Roles assigned by the process", map[string]any{"roles": set.Roles})
		names := slices.Sorted(maps.Keys(set.Roles)) //workflowcheck:ignore
		for _, role := range names {
			change.Roles = append(change.Roles, incidentflow.RoleAssignment{Role: role, Person: set.Roles[role], By: "process", At: e.At,
				DedupKey: e.DedupKey + "/" + role})
		}
		events = append(events, e)
	}
	if len(events) > 0 {
		r.record(ctx, change, events...)
	}
	for _, ra := range change.Roles {
		r.followRole(ctx, ra.Role, ra.DedupKey)
	}
	for _, k := range changedFields {
		r.fire(ctx, "field_changed:"+k, before)
	}
	if set.Severity != "" && set.Severity != r.state.Severity {
		r.changeSeverity(ctx, set.Severity, "", ref, "")
	}
	if set.Status != "" && set.Status != r.state.Status {
		// A process step never moves the status back past what a person
		// set (they resolved it while the process still investigated).
		if by := r.state.StatusBy; by != "" && statusRank(set.Status) < statusRank(r.state.PersonStatus) &&
			workflow.GetVersion(ctx, "set-keeps-peoples-status", workflow.DefaultVersion, 1) == 1 {
			r.record(ctx, incidentflow.Change{}, r.event(ctx, "step_skipped", ref, "",
				fmt.Sprintf("%s: the status stays %s: %s set it to %s, and a process step does not move it back past that to %s",
					ref, r.state.Status, by, r.state.PersonStatus, set.Status), nil))
		} else {
			r.changeStatus(ctx, set.Status, "", ref, "")
		}
	}
	r.details(ctx)
}

// statusRank is where a status stands in an incident's course (dsl.Statuses).
func statusRank(status string) int { return slices.Index(dsl.Statuses, status) }

func (r *run) wait(ctx workflow.Context, s *dsl.Step, ref, path string) (failed bool) {
	w := s.Wait
	f, rf := frame(ctx), r.resumed(ctx)
	if rf != nil && rf.Phase == "on_timeout" {
		return r.resumeNested(ctx, rf, w.OnTimeout, path+".on_timeout")
	}
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
		if rf != nil && rf.Until != nil {
			until = *rf.Until // the timeout counts from when the wait began
		}
		timeout = max(until.Sub(now), time.Millisecond)
		act.Until, f.Until = &until, &until
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
				r.logger.Warn("wait condition failed", "step", ref, "error", err)
			}
			return ok
		}
		return false
	}
	satisfied, err := awaitWithin(ctx, timeout, fmt.Sprintf("%s: waiting up to %s", s.Label(), w.Timeout), cond)
	if err != nil { // cancelled: the incident is over
		return false
	}
	// The timer and an update that satisfies the wait can land in the same
	// workflow task; the update wins, whatever order the task applied them in.
	satisfied = satisfied || cond()
	r.output(s, "timed_out", !satisfied)
	r.output(s, "signal", gotSignal)
	if satisfied {
		return false
	}
	r.record(ctx, incidentflow.Change{}, r.event(ctx, "wait_timed_out", ref, "",
		fmt.Sprintf("%s: still waiting %s after %s", s.Label(), what, w.Timeout), nil))
	f.Phase = "on_timeout"
	return r.steps(ctx, w.OnTimeout, path+".on_timeout")
}

func (r *run) sleep(ctx workflow.Context, s *dsl.Step) {
	now := workflow.Now(ctx)
	until := s.Sleep.For.After(now, r.in.Calendar)
	if rf := r.resumed(ctx); rf != nil && rf.Until != nil {
		until = *rf.Until
	}
	frame(ctx).Until = &until
	done := r.activate(ctx, Activity{Step: s.Label(), Kind: "sleep", Waiting: "sleeping " + s.Sleep.For.String(), Until: &until})
	defer done()
	// A cancelled timer means the incident is over; there is nothing to record.
	_ = workflow.NewTimerWithOptions(ctx, max(until.Sub(now), time.Millisecond), workflow.TimerOptions{Summary: fmt.Sprintf("%s: sleeping %s", s.Label(), s.Sleep.For)}).Get(ctx, nil)
}
