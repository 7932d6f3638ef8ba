package workflows

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/dsl"
)

// Clock states.
const (
	ClockOpen    = "open"
	ClockMet     = "met"
	ClockMissed  = "missed"   // the due time passed; still not done
	ClockMetLate = "met_late" // done after it was missed
)

// Clock is one deadline as the state query shows it.
type Clock struct {
	ID     string     `json:"id"` // INC-7-D1
	Step   string     `json:"step"`
	Title  string     `json:"title"`
	Start  time.Time  `json:"start"`
	Due    time.Time  `json:"due"`
	Status string     `json:"status"`
	DoneAt *time.Time `json:"done_at,omitempty"`
}

// deadline runs a clock: it waits for the event that starts it, reminds before
// the due time, and either sees it met by its done_when signal or, at the due
// time, records it missed and runs its overdue steps. A clock met late is
// still recorded as such.
func (r *run) deadline(ctx workflow.Context, s *dsl.Step, ref, path, key string) (failed bool) {
	d := s.Deadline
	f, rf := frame(ctx), r.resumed(ctx)
	var clock int
	if rf != nil && rf.Phase != "" {
		clock = rf.Clock
		if rf.Phase == "overdue" {
			return r.resumeNested(ctx, rf, d.Overdue, path+".overdue")
		}
	} else {
		start, ok := r.clockStart(ctx, s)
		if !ok {
			return false // the incident closed before the clock started
		}
		due := d.Due(start, r.in.Calendar)
		clock = len(r.state.Clocks)
		r.state.Clocks = append(r.state.Clocks, Clock{ID: fmt.Sprintf("%s-D%d", r.state.Ref, clock+1), Step: ref, Title: d.Title,
			Start: start, Due: due, Status: ClockOpen})
		r.output(s, "due", due.UTC().Format(time.RFC3339)) // conditions see a timestamp, templates this text
		r.record(ctx, r.clockChange(clock), r.event(ctx, "deadline_started", ref, "",
			fmt.Sprintf("%s: clock started (%s from %s%s), due %s", d.Title, d.Within, r.describeFrom(d.From), d.Counting(), r.localTime(due)),
			map[string]any{"due": due, "start": start}))
	}
	f.Phase, f.Clock = "running", clock
	r.clockSteps[clock] = s

	done := func() bool {
		if d.DoneWhen == "" {
			return false
		}
		_, ok := r.state.Signals[strings.TrimPrefix(d.DoneWhen, "signal:")]
		return ok
	}
	// Reminders come in order, the earliest (longest before the due time)
	// first; one whose time passed before the clock started is too late to
	// send. The frame counts those dealt with, so a new run sends the one
	// the previous run had begun (its key makes a second send a no-op).
	reminders := slices.Clone(d.RemindBefore)
	slices.SortFunc(reminders, func(a, b dsl.Duration) int { return int(b.Fixed - a.Fixed) })
	interrupted := -1
	if rf != nil && rf.V >= FrameVersion {
		f.Reminded, interrupted, f.Moves = rf.Reminded, rf.Reminded, rf.Moves
	}
	// The clock runs until it is met or due; a change of the field it
	// counts from moves its due time (moveClocks), and it runs again to the
	// new one, reminding anew of what is still to come.
	var due time.Time
	for {
		due = r.state.Clocks[clock].Due
		moved := func() bool { return !r.state.Clocks[clock].Due.Equal(due) }
		over := func() bool { return done() || moved() }
		act := r.activate(ctx, Activity{Step: s.Label(), Kind: "deadline", Waiting: "due " + r.localTime(due), Until: &due})
		remindKey := fmt.Sprintf("%s/remind-", key)
		if f.Moves > 0 {
			remindKey = fmt.Sprintf("%s/moved-%d/remind-", key, f.Moves)
		}
		for i, rb := range reminders {
			if i < f.Reminded {
				continue
			}
			at, now := due.Add(-rb.Fixed), workflow.Now(ctx)
			if (!at.After(now) && i != interrupted) || done() {
				f.Reminded = i + 1
				continue
			}
			if at.After(now) {
				met, err := workflow.AwaitWithOptions(ctx, workflow.AwaitOptions{Timeout: at.Sub(now),
					TimerOptions: workflow.TimerOptions{Summary: fmt.Sprintf("%s: reminder %s before it is due", d.Title, rb)}}, over)
				if err != nil {
					act()
					return false
				}
				if met {
					break
				}
			}
			msg := fmt.Sprintf("Reminder: %s for %s %s is due %s, in %s. %s", d.Title, r.state.Ref, dsl.Unlinked(r.state.Title), r.localTime(due), rb, r.in.Links.Incident)
			if r.deliver(ctx, s, ref, remindKey+rb.String(), d.Notify, msg) {
				failed = true
				f.Failed = true
			}
			f.Reminded = i + 1
		}
		if now := workflow.Now(ctx); !over() && due.After(now) {
			if _, err := workflow.AwaitWithOptions(ctx, workflow.AwaitOptions{Timeout: due.Sub(now),
				TimerOptions: workflow.TimerOptions{Summary: fmt.Sprintf("%s: due %s", d.Title, r.localTime(due))}}, over); err != nil {
				act()
				return false
			}
		}
		act()
		if done() || !moved() {
			break
		}
		f.Moves++
		f.Reminded, interrupted = 0, -1
	}
	if done() {
		r.clockDone(ctx, s, ref, clock, ClockMet)
		return failed
	}

	r.state.Clocks[clock].Status = ClockMissed
	r.output(s, "missed", true)
	r.record(ctx, r.clockChange(clock), r.event(ctx, "deadline_missed", ref, "",
		fmt.Sprintf("%s was due %s and is not done", d.Title, r.localTime(due)), map[string]any{"due": due}))
	if d.DoneWhen != "" {
		r.watchLate(ctx, s, ref, path, clock)
	}
	f.Phase = "overdue"
	return r.steps(ctx, d.Overdue, path+".overdue") || failed
}

// watchLate records a missed clock met when its done_when signal comes at
// last. It has a frame of its own, so a new run carries it on.
func (r *run) watchLate(ctx workflow.Context, s *dsl.Step, ref, path string, clock int) {
	p := path + lateSuffix
	r.frames[p] = &Frame{Path: p, Kind: "late", Clock: clock, V: FrameVersion}
	workflow.Go(ctx, func(c workflow.Context) {
		defer delete(r.frames, p)
		if workflow.Await(c, func() bool {
			_, ok := r.state.Signals[strings.TrimPrefix(s.Deadline.DoneWhen, "signal:")]
			return ok
		}) == nil {
			r.clockDone(c, s, ref, clock, ClockMetLate)
		}
	})
}

// ClockAbandoned is a clock still running when its incident closed: nothing
// will remind anyone of it any more, and the timeline says so.
const ClockAbandoned = "abandoned"

// abandonClocks records the clocks an incident closes with, so that lists of
// open deadlines do not show them for ever and the timeline shows what was
// left undone.
func (r *run) abandonClocks(ctx workflow.Context) {
	for i := range r.state.Clocks {
		c := &r.state.Clocks[i]
		if !c.running() {
			continue
		}
		was := c.Status
		c.Status = ClockAbandoned
		r.record(ctx, r.clockChange(i), r.event(ctx, "deadline_abandoned", c.Step, "",
			fmt.Sprintf("%s (due %s, %s) was still running when the incident was %s: nothing will remind anyone of it now",
				c.Title, r.localTime(c.Due), was, r.state.Status), map[string]any{"due": c.Due}))
	}
}

// running reports whether the clock is still counting: open, or missed and
// not yet met.
func (c *Clock) running() bool { return c.Status == ClockOpen || c.Status == ClockMissed }

// openClocks reports whether any clock is still running.
func (r *run) openClocks() bool {
	return slices.ContainsFunc(r.state.Clocks, func(c Clock) bool { return c.running() })
}

// clockDone records a clock met, on time or late.
func (r *run) clockDone(ctx workflow.Context, s *dsl.Step, ref string, clock int, status string) {
	c := &r.state.Clocks[clock]
	at := r.state.Signals[strings.TrimPrefix(s.Deadline.DoneWhen, "signal:")].At
	c.Status, c.DoneAt = status, &at
	r.output(s, "met", true)
	msg := fmt.Sprintf("%s met %s, %s before it was due", c.Title, r.localTime(at), dsl.Duration{Fixed: c.Due.Sub(at).Round(time.Minute)})
	if status == ClockMetLate {
		msg = fmt.Sprintf("%s met late %s, %s after it was due", c.Title, r.localTime(at), dsl.Duration{Fixed: at.Sub(c.Due).Round(time.Minute)})
	}
	r.record(ctx, r.clockChange(clock), r.event(ctx, "deadline_"+status, ref, "", msg, map[string]any{"due": c.Due, "done_at": at}))
	r.details(ctx)
}

// clockChange is a change that writes clock as it now stands to the store.
func (r *run) clockChange(clock int) incidentflow.Change {
	c := r.state.Clocks[clock]
	return incidentflow.Change{Deadlines: []incidentflow.Deadline{{ID: c.ID, Step: c.Step, Title: c.Title,
		StartAt: c.Start, DueAt: c.Due, Status: c.Status, DoneAt: c.DoneAt}}}
}

// moveClocks moves the due time of each open clock that counts from one of
// the fields changed: a person corrected the time it counts from (the DPO
// learns the breach was known a day earlier), and the law counts from the
// corrected one. A field emptied leaves its clock as it was.
func (r *run) moveClocks(ctx workflow.Context, changed []string) {
	for i, c := range r.state.Clocks {
		s := r.clockSteps[i]
		if s == nil || c.Status != ClockOpen {
			continue
		}
		d := s.Deadline
		name, ok := strings.CutPrefix(d.From, "field:")
		if !ok || !slices.Contains(changed, name) {
			continue
		}
		start := r.startOf(d.From)
		if start.IsZero() {
			continue
		}
		due := d.Due(start, r.in.Calendar)
		if due.Equal(c.Due) {
			continue
		}
		r.state.Clocks[i].Start, r.state.Clocks[i].Due = start, due
		r.output(s, "due", due.UTC().Format(time.RFC3339))
		def, _ := r.in.Process.Field(name)
		r.record(ctx, r.clockChange(i), r.event(ctx, "deadline_moved", c.Step, "",
			fmt.Sprintf("%s: due %s now, not %s: %s changed (%s from %s)", d.Title, r.localTime(due), r.localTime(c.Due), def.Label(), d.Within, r.describeFrom(d.From)),
			map[string]any{"due": due, "start": start, "was_due": c.Due}))
	}
}

// clockStart returns the instant a deadline counts from, waiting for the event
// when it has not happened yet. It returns false when the run is cancelled first.
func (r *run) clockStart(ctx workflow.Context, s *dsl.Step) (time.Time, bool) {
	var start time.Time
	started := func() bool {
		start = r.startOf(s.Deadline.From)
		return !start.IsZero()
	}
	if started() {
		return start, true
	}
	done := r.activate(ctx, Activity{Step: s.Label(), Kind: "deadline", Waiting: "waiting for " + r.describeFrom(s.Deadline.From) + " to start the clock"})
	defer done()
	return start, workflow.Await(ctx, started) == nil
}

// startOf is when the event from (declared, acknowledged, signal:NAME,
// field:NAME) happened, zero while it has not.
func (r *run) startOf(from string) time.Time {
	kind, arg, _ := strings.Cut(from, ":")
	switch kind {
	case "declared":
		return r.in.Incident.DeclaredAt
	case "acknowledged":
		if a := r.state.Acknowledged; a != nil {
			return a.At
		}
	case "signal":
		if sig, ok := r.state.Signals[arg]; ok {
			return sig.At
		}
	case "field":
		if v, ok := r.state.Fields[arg].(string); ok {
			t, _ := time.Parse(time.RFC3339Nano, v)
			return t
		}
	}
	return time.Time{}
}

// deadlineOutputs gives every deadline step with an id, for messages, the
// outputs it has not set yet: a background clock has not run when the steps
// after it send theirs, a clock waiting for its from event has no due time,
// and a clock sets met or missed only when it is. Until then met, missed and
// failed are false, and due is the time the clock will have once its from
// event has happened, else nil, which {{ when }} writes as not known yet.
// The run's outputs are not changed; what its messages see is.
func (r *run) deadlineOutputs(outputs map[string]map[string]any) map[string]map[string]any {
	var out map[string]map[string]any
	dsl.WalkProcess(&r.in.Process, func(s *dsl.Step) {
		if s.ID == "" || s.Deadline == nil {
			return
		}
		have := outputs[s.ID]
		missing := map[string]any{} // false until set; due is worked out below
		for _, k := range []string{"met", "missed", "failed"} {
			if _, ok := have[k]; !ok {
				missing[k] = false
			}
		}
		if _, ok := have["due"]; !ok {
			missing["due"] = nil
		}
		if len(missing) == 0 {
			return
		}
		if _, ok := missing["due"]; ok {
			if start := r.startOf(s.Deadline.From); !start.IsZero() {
				missing["due"] = s.Deadline.Due(start, r.in.Calendar).UTC().Format(time.RFC3339)
			}
		}
		if out == nil {
			out = maps.Clone(outputs)
			if out == nil {
				out = map[string]map[string]any{}
			}
		}
		step := maps.Clone(have)
		if step == nil {
			step = map[string]any{}
		}
		maps.Copy(step, missing)
		out[s.ID] = step
	})
	// Runs that began before this rendered such a message as a failed step.
	if out == nil || workflow.GetVersion(r.root, "deadline-outputs-for-messages", workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return outputs
	}
	return out
}

func (r *run) describeFrom(from string) string {
	kind, arg, _ := strings.Cut(from, ":")
	switch kind {
	case "signal":
		return "signal " + arg
	case "field":
		return "the time in field " + arg
	}
	return from
}

// localTime writes t in the calendar's time zone, as people there read it.
func (r *run) localTime(t time.Time) string {
	return dsl.FormatLocal(t, r.in.Calendar.Location())
}
