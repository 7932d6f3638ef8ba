package workflows

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/dsl"
)

// DefaultHistoryLimit is how many history events a run may grow to before it
// continues as new, well under Temporal's limits (51,200 events, 50 MB).
const DefaultHistoryLimit = 10_000

// Frame is a step that is running, with what it needs to carry on in a new
// run: where it is, and how far it got. Every running step has one, keyed by
// its path, so that a run can stop at a quiet moment and the next run can
// resume each step where it was.
type Frame struct {
	Path string `json:"path"`
	Kind string `json:"kind"`
	// Acks is the acknowledgement baseline of the sequence the step runs in.
	Acks  int        `json:"acks"`
	Phase string     `json:"phase,omitempty"`
	Until *time.Time `json:"until,omitempty"`
	Round int        `json:"round,omitempty"`
	Level int        `json:"level,omitempty"`
	// Clock is a deadline's index in the state's clocks.
	Clock int    `json:"clock,omitempty"`
	Task  string `json:"task,omitempty"`
	// Policy and Message are a page's, as it started.
	Policy  *dsl.Policy `json:"policy,omitempty"`
	Message string      `json:"message,omitempty"`
	// Reminders and Invited are a review's: reminders still to send, and the
	// version of the invitation the attendees have.
	Reminders []time.Duration `json:"reminders,omitempty"`
	Invited   int             `json:"invited,omitempty"`
	// Reminded counts a deadline's reminders already dealt with, in the
	// order they fall due: sent, or passed before the clock started.
	Reminded int `json:"reminded,omitempty"`
	// Moves counts how often a deadline's due time moved (moveClocks).
	Moves int `json:"moves,omitempty"`
	// Failures counts a parallel step's failed branches; Failed is what a
	// step has failed so far.
	Failures int  `json:"failures,omitempty"`
	Failed   bool `json:"failed,omitempty"`
	// Key names the step's run, and Events counts the timeline events it
	// has recorded: with Key, their dedup keys.
	Key    string `json:"key,omitempty"`
	Events int    `json:"events,omitempty"`
	// V is the version of the rules the frame was written by. From
	// FrameVersion on, a frame records a delivery only once it went out, so a
	// step resumed in a new run sends what the previous run had begun; frames
	// without it (from runs before) resume as they always did.
	V int `json:"v,omitempty"`
	// resumed marks a frame a step took over from the previous run.
	resumed bool
}

// FrameVersion is the version of the rules new frames are written by.
const FrameVersion = 1

// Continuation is what a run hands the next when it continues as new.
type Continuation struct {
	State  State             `json:"state"`
	Frames map[string]*Frame `json:"frames"`
	// Run counts the runs of the incident so far, this one included.
	Run int `json:"run"`
}

type (
	frameKey  struct{}
	resumeKey struct{}
)

// frame is the frame of the step running in ctx.
func frame(ctx workflow.Context) *Frame {
	f, _ := ctx.Value(frameKey{}).(*Frame)
	if f == nil {
		return &Frame{} // outside any step: a frame nobody keeps
	}
	return f
}

// resumed returns the step's saved frame when the step in ctx is being
// resumed from an earlier run, else nil.
func (r *run) resumed(ctx workflow.Context) *Frame {
	if f := frame(ctx); f.resumed {
		return f
	}
	return nil
}

// resumeNested resumes a nested sequence of a resumed step, remembering
// whether the step had failed before.
func (r *run) resumeNested(ctx workflow.Context, rf *Frame, steps []dsl.Step, path string) bool {
	return r.resumeSequence(ctx, steps, path) || rf.Failed
}

// limit is the history length at which this run continues as new.
func (r *run) limit() int {
	if r.in.HistoryLimit > 0 {
		return r.in.HistoryLimit
	}
	return DefaultHistoryLimit
}

// shouldContinue reports whether the run should continue as new now: its
// history is long, and it is quiet — no activity in flight, nothing waiting
// to be recorded, no update being handled — so every step is waiting where
// its frame says.
func (r *run) shouldContinue(ctx workflow.Context) bool {
	info := workflow.GetInfo(ctx)
	n := info.GetCurrentHistoryLength()
	if n < r.limit() && !info.GetContinueAsNewSuggested() {
		return false
	}
	// A run that has just resumed carries on for a while first, however
	// small the limit: continuing before any progress would never end.
	if n-r.resumedAt < minProgress {
		return false
	}
	return r.inflight == 0 && len(r.queue) == 0 && r.written == r.queued && !r.followingUp &&
		workflow.AllHandlersFinished(ctx) && r.followUpDue() == ""
}

// continueAsNew ends this run and starts the next with everything needed
// to carry on.
func (r *run) continueAsNew(ctx workflow.Context) error {
	next := r.in
	st := r.state
	st.Active = []Activity{}
	next.Continued = &Continuation{State: st, Frames: r.frames, Run: r.runNumber() + 1}
	r.logger.Info("continuing as new", "history", workflow.GetInfo(ctx).GetCurrentHistoryLength(), "run", next.Continued.Run)
	return workflow.NewContinueAsNewError(ctx, WorkflowName, next)
}

func (r *run) runNumber() int {
	if c := r.in.Continued; c != nil {
		return c.Run
	}
	return 1
}

// resume starts again every sequence that was running when the previous run
// continued as new: the main sequence, handlers, and late deadline watchers.
func (r *run) resume(ctx workflow.Context) {
	if err := workflow.UpsertTypedSearchAttributes(ctx, AttrType.ValueSet(r.state.Type), AttrSeverity.ValueSet(r.state.Severity),
		AttrStatus.ValueSet(r.state.Status), AttrRef.ValueSet(r.state.Ref)); err != nil {
		r.logger.Warn("could not set the search attributes", "error", err)
	}
	r.record(ctx, incidentflow.Change{}, r.event(ctx, "continued", "", "",
		fmt.Sprintf("Carried on in run %d of the incident: the previous run's history was long", r.runNumber()), nil))
	paths := slices.Sorted(maps.Keys(r.saved)) //workflowcheck:ignore

	var roots []string // in order, so the sequences start again in the same order on replay
	for _, p := range paths {
		root, _, _ := strings.Cut(p, "[")
		switch {
		case strings.HasSuffix(p, lateSuffix):
			f := r.saved[p]
			path := strings.TrimSuffix(p, lateSuffix)
			if s := r.stepAt(path); s != nil && s.Deadline != nil {
				r.watchLate(r.mainCtx, s, stepRef(s, path), path, f.Clock)
			}
		case !slices.Contains(roots, root):
			roots = append(roots, root)
		}
	}
	if slices.Contains(roots, "steps") {
		workflow.Go(r.mainCtx, func(c workflow.Context) {
			r.resumeSequence(c, r.in.Process.Steps, "steps")
			if !dsl.IsFinalStatus(r.state.Status) {
				r.details(ctx)
			}
		})
	}
	for _, root := range roots {
		trigger, _, ok := strings.Cut(strings.TrimPrefix(root, "on."), "#")
		if !ok || !strings.HasPrefix(root, "on.") {
			continue
		}
		for i := range r.in.Process.Handlers {
			h := &r.in.Process.Handlers[i]
			if h.On != trigger {
				continue
			}
			acks := 0
			for _, p := range paths {
				if strings.HasPrefix(p, root+"[") {
					acks = r.saved[p].Acks
					break
				}
			}
			hctx := workflow.WithValue(r.mainCtx, ackBaselineKey{}, acks)
			workflow.Go(hctx, func(c workflow.Context) { r.resumeSequence(c, h.Steps, root) })
		}
	}
	r.details(ctx)
}

// resumeSequence carries on a sequence that was running: background steps
// that were running start again beside it, the step it was at resumes, and
// the steps after it run as usual. A sequence none of whose steps was
// running had finished, and stays finished.
func (r *run) resumeSequence(ctx workflow.Context, steps []dsl.Step, path string) (failed bool) {
	at := -1
	for i := range steps {
		p := fmt.Sprintf("%s[%d]", path, i)
		if _, ok := r.saved[p]; !ok {
			continue
		}
		if s := &steps[i]; s.Background {
			workflow.Go(ctx, func(c workflow.Context) { r.step(r.resuming(c, p), s, p) })
			continue
		}
		at = i
	}
	if at < 0 {
		return false
	}
	p := fmt.Sprintf("%s[%d]", path, at)
	failed = r.step(r.resuming(ctx, p), &steps[at], p)
	return r.stepsFrom(ctx, steps, path, at+1) || failed
}

// resuming marks ctx so that the step at path resumes from its saved frame.
func (r *run) resuming(ctx workflow.Context, path string) workflow.Context {
	return workflow.WithValue(ctx, resumeKey{}, path)
}

// stepAt finds the step at a path such as steps[2].parallel[1].
func (r *run) stepAt(path string) *dsl.Step {
	var seq []dsl.Step
	rest := path
	switch {
	case strings.HasPrefix(rest, "steps["):
		seq, rest = r.in.Process.Steps, strings.TrimPrefix(rest, "steps")
	case strings.HasPrefix(rest, "on."):
		root, tail, _ := strings.Cut(rest, "[")
		trigger, _, _ := strings.Cut(strings.TrimPrefix(root, "on."), "#")
		for i := range r.in.Process.Handlers {
			if r.in.Process.Handlers[i].On == trigger {
				seq = r.in.Process.Handlers[i].Steps
			}
		}
		rest = "[" + tail
	default:
		return nil
	}
	for {
		i, tail, ok := strings.Cut(strings.TrimPrefix(rest, "["), "]")
		n, err := strconv.Atoi(i)
		if !ok || err != nil || n < 0 || n >= len(seq) {
			return nil
		}
		s := &seq[n]
		if tail == "" {
			return s
		}
		field, next, _ := strings.Cut(strings.TrimPrefix(tail, "."), "[")
		switch field {
		case "steps":
			seq = s.Steps
		case "parallel":
			seq = s.Parallel
		case "repeat":
			seq = s.Repeat.Steps
		case "on_timeout":
			if s.Wait != nil {
				seq = s.Wait.OnTimeout
			} else if s.Approval != nil {
				seq = s.Approval.OnTimeout
			}
		case "overdue":
			seq = s.Deadline.Overdue
		default:
			return nil
		}
		rest = "[" + next
	}
}

// minProgress is how many events a run adds before it may continue as new.
const minProgress = 30

// lateSuffix marks the frame of a deadline's watcher for a late completion.
const lateSuffix = "#late"
