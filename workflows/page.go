package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/activities"
	"github.com/incidentflow/incidentflow/dsl"
)

// Escalation is a page in progress, as the state query shows it.
type Escalation struct {
	Step   string    `json:"step"`
	Policy string    `json:"policy"`
	Round  int       `json:"round"` // counting from 1; the policy's repeat adds rounds
	Level  int       `json:"level"` // counting from 1
	Paged  []string  `json:"paged"` // everyone paged so far by this step
	Since  time.Time `json:"since"`
	// NextAt is when the next level is paged if nobody acknowledges.
	NextAt time.Time `json:"next_at"`
	// AcksBefore is how many acknowledgements there were when the sequence
	// running this page began: one more acknowledges it.
	AcksBefore int `json:"acks_before"`
}

// page runs an escalation policy: each level's targets are paged (schedules
// resolved to whoever is on call at that moment), then given the level's
// ack_within to acknowledge before the next level; after the last level the
// whole policy runs again, repeat times. Any acknowledgement after the page
// started stops it at once. Without one the step ends unacknowledged and the
// process goes on.
func (r *run) page(ctx workflow.Context, s *dsl.Step, ref, key string) (failed bool) {
	f, rf := frame(ctx), r.resumed(ctx)
	var pol dsl.Policy
	var msg string
	if rf != nil && rf.Policy != nil {
		pol, msg, failed = *rf.Policy, rf.Message, rf.Failed
	} else {
		lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
			StartToCloseTimeout: 10 * time.Second,
			RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3},
			Summary:             "Look up escalation policy " + s.Page.Policy,
		})
		if err := r.result(lctx, workflow.ExecuteLocalActivity(lctx, a.LookupPolicy, s.Page.Policy), &pol); err != nil {
			if ctx.Err() == nil {
				r.stepFailed(ctx, s, ref, fmt.Sprintf("%s: %v", s.Label(), rootCause(err)))
			}
			return ctx.Err() == nil
		}
		var err error
		if msg, err = dsl.Render(s.Page.Message, dsl.TemplateData(r.messageFacts(s), r.in.Links)); err != nil {
			r.record(ctx, incidentflow.Change{}, r.event(ctx, "step_failed", ref, "",
				fmt.Sprintf("%s: the message could not be written (%v); paging with the incident title", s.Label(), err), nil))
			msg = fmt.Sprintf("%s: %s", r.state.Ref, dsl.Unlinked(r.state.Title))
		}
		f.Policy, f.Message = &pol, msg
	}

	// Acknowledgements count from what started this sequence: the
	// declaration for the main sequence, the trigger for a handler.
	acksBefore := ackBaseline(ctx)
	acked := func() bool { return len(r.state.Acks) > acksBefore }
	var esc *Escalation
	startRound, startLevel, waitFirst := 1, 0, false
	if rf != nil && rf.Round > 0 {
		// Resumed while a level waited for its acknowledgement: wait out
		// the rest of its window, then go on from the next level.
		startRound, startLevel, waitFirst = rf.Round, rf.Level-1, true
		for _, e := range r.state.Escalations {
			if e.Step == s.Label() && e.AcksBefore == acksBefore {
				esc = e
			}
		}
	}
	if esc == nil {
		if acked() {
			r.record(ctx, incidentflow.Change{}, r.event(ctx, "page_skipped", ref, "",
				fmt.Sprintf("%s: not paging, %s already acknowledged", s.Label(), r.state.Acks[acksBefore].By), nil))
		}
		esc = &Escalation{Step: s.Label(), Policy: pol.ID, Since: workflow.Now(ctx), Paged: []string{}, AcksBefore: acksBefore}
		r.state.Escalations = append(r.state.Escalations, esc)
	}
	// What the run waits for, in its state and in the Temporal UI.
	defer r.activate(ctx, Activity{Step: s.Label(), Kind: "page", Waiting: "paging " + pol.ID + " until someone acknowledges"})()
	// A level's window opens when the level is due, and its delivery goes
	// on beside it: a channel that is down does not hold the next level
	// back. Runs that began before wait for each level's delivery first.
	// A delivery under way when someone acknowledges goes on to its end,
	// so that what it sent is recorded and followed up.
	beside := r.in.Features >= FeaturePagesBeside
	defer func() {
		r.state.Escalations = slices.DeleteFunc(r.state.Escalations, func(e *Escalation) bool { return e == esc })
		r.details(ctx)
	}()

	for round := startRound; round <= pol.Repeat+1 && !acked(); round++ {
		for i := 0; i < len(pol.Levels); i++ {
			level := pol.Levels[i]
			if round == startRound && i < startLevel {
				continue
			}
			if acked() || ctx.Err() != nil {
				break
			}
			if !waitFirst {
				now := workflow.Now(ctx)
				esc.Round, esc.Level, esc.NextAt = round, i+1, now.Add(level.AckWithin.Fixed)
				r.touch()
				in := activities.NotifyInput{Incident: r.channelIncident(), Actions: r.in.Links.Actions, Key: fmt.Sprintf("%s/round-%d/level-%d", key, round, i+1),
					Step: ref, Event: "page", Level: i + 1, Targets: level.Targets, Message: msg}
				if beside {
					r.pageBeside(ctx, s, ref, pol, esc, round, i+1, level, in)
				} else if r.pageFirst(ctx, s, ref, pol, esc, round, i+1, level, in) {
					failed, f.Failed = true, true
				}
				r.details(ctx)
			}
			waitFirst = false
			f.Round, f.Level = round, i+1
			if _, err := workflow.AwaitWithOptions(ctx, workflow.AwaitOptions{Timeout: max(esc.NextAt.Sub(workflow.Now(ctx)), time.Millisecond),
				TimerOptions: workflow.TimerOptions{Summary: fmt.Sprintf("Waiting %s for an acknowledgement from level %d", level.AckWithin, i+1)}}, acked); err != nil {
				return false
			}
		}
	}
	r.output(s, "level", int64(esc.Level))
	if acked() {
		by := r.state.Acks[acksBefore].By
		r.output(s, "acknowledged", true)
		r.output(s, "by", by)
		r.output(s, "outcome", "acknowledged")
		return failed || beside && f.Failed
	}
	r.output(s, "acknowledged", false)
	r.output(s, "outcome", "unacknowledged")
	r.record(ctx, incidentflow.Change{}, r.event(ctx, "page_unacknowledged", ref, "",
		fmt.Sprintf("%s: nobody acknowledged after %d round(s) of %s", s.Label(), pol.Repeat+1, pol.ID), nil))
	return failed || beside && f.Failed
}

// pageFirst pages one level as runs that began before pageBeside did: the
// level's window opens once its delivery is done (when the page went out,
// even when a worker that crashed after sending reports it late). It
// reports whether the delivery gave up.
func (r *run) pageFirst(ctx workflow.Context, s *dsl.Step, ref string, pol dsl.Policy, esc *Escalation, round, level int, lv dsl.Level, in activities.NotifyInput) (failed bool) {
	actx := workflow.WithActivityOptions(ctx, activityOptions(s))
	var res activities.NotifyResult
	if err := r.result(actx, workflow.ExecuteActivity(actx, a.Notify, in), &res); err != nil {
		if ctx.Err() != nil {
			return false
		}
		r.record(ctx, incidentflow.Change{}, r.event(ctx, "step_failed", ref, "",
			fmt.Sprintf("%s: paging level %d gave up: %v; escalating", s.Label(), level, rootCause(err)), nil))
		failed = true
	}
	r.state.Tracked = r.state.Tracked || res.Tracked
	esc.addPaged(res.Recipients)
	r.record(ctx, incidentflow.Change{}, r.event(ctx, "paged", ref, "",
		fmt.Sprintf("Paged level %d of %s (round %d): %s; waiting %s for an acknowledgement", level, pol.ID, round,
			orNobody(res.Recipients), lv.AckWithin), map[string]any{"level": level, "round": round, "paged": res.Recipients}))
	sent := workflow.Now(ctx)
	if res.SentAt != nil && res.SentAt.Before(sent) {
		sent = *res.SentAt
	}
	esc.NextAt = sent.Add(lv.AckWithin.Fixed)
	r.touch()
	return failed
}

// pageBeside pages one level in the background: its window is already
// open, and what its delivery did is recorded when it is done, however
// long its channel takes.
func (r *run) pageBeside(ctx workflow.Context, s *dsl.Step, ref string, pol dsl.Policy, esc *Escalation, round, level int, lv dsl.Level, in activities.NotifyInput) {
	actx := workflow.WithActivityOptions(ctx, activityOptions(s))
	var res activities.NotifyResult
	r.beside(ctx, workflow.ExecuteActivity(actx, a.Notify, in), &res, func(err error) {
		if ctx.Err() != nil {
			// The incident is over while it still went on: what it sent
			// already may have opened an alert that the resolution must
			// follow up, and following up reads what went out.
			r.state.Tracked = true
			return
		}
		if err != nil {
			r.record(ctx, incidentflow.Change{}, r.event(ctx, "step_failed", ref, "",
				fmt.Sprintf("%s: paging level %d gave up: %v", s.Label(), level, rootCause(err)), nil))
			frame(ctx).Failed = true
			return
		}
		r.state.Tracked = r.state.Tracked || res.Tracked
		if len(res.Undelivered) > 0 {
			frame(ctx).Failed = true // a page that did not reach its person failed
		}
		res.Recipients = slices.DeleteFunc(res.Recipients, func(p string) bool { return slices.Contains(res.Undelivered, p) })
		esc.addPaged(res.Recipients)
		r.record(ctx, incidentflow.Change{}, r.event(ctx, "paged", ref, "",
			fmt.Sprintf("Paged level %d of %s (round %d): %s; its %s for an acknowledgement began when it was due", level, pol.ID, round,
				orNobody(res.Recipients), lv.AckWithin), map[string]any{"level": level, "round": round, "paged": res.Recipients}))
		r.details(ctx)
	})
}

// addPaged counts people as paged by the escalation, each once.
func (e *Escalation) addPaged(people []string) {
	for _, p := range people {
		if !slices.Contains(e.Paged, p) {
			e.Paged = append(e.Paged, p)
		}
	}
}

func orNobody(list []string) string {
	if len(list) == 0 {
		return "nobody"
	}
	return strings.Join(list, ", ")
}

// ackBaselineKey carries, in a workflow context, how many acknowledgements
// there were when the running sequence was started.
type ackBaselineKey struct{}

func ackBaseline(ctx workflow.Context) int {
	n, _ := ctx.Value(ackBaselineKey{}).(int)
	return n
}

// paged reports whether anyone running an escalation paged person.
func (r *run) paged(person string) bool {
	for _, e := range r.state.Escalations {
		if slices.Contains(e.Paged, person) {
			return true
		}
	}
	return false
}
