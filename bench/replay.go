package bench

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/incidentflow/incidentflow/workflows"
)

// replaySamples is how many completed runs of each kind the replay
// comparison replays; replayPasses how many times it replays each.
const (
	replaySamples = 20
	replayPasses  = 40
)

// replayCost compares the interpreter's runs with the baseline's by the CPU
// time of replaying their histories (ReplayComparison).
func (b *runner) replayCost(ctx context.Context, interp, base []client.WorkflowRun) (*ReplayComparison, error) {
	hi, err := b.histories(ctx, interp)
	if err != nil {
		return nil, err
	}
	hb, err := b.histories(ctx, base)
	if err != nil {
		return nil, err
	}
	// The stack's own work would fall on the replays' CPU time.
	b.quiesce(ctx, 30*time.Second)
	return compareReplays(hi, hb, b.o.ReplayHandicap, replayPasses)
}

// histories fetches the histories of up to replaySamples runs.
func (b *runner) histories(ctx context.Context, runs []client.WorkflowRun) ([]*historypb.History, error) {
	var out []*historypb.History
	for _, run := range runs[:min(len(runs), replaySamples)] {
		h := &historypb.History{}
		iter := b.env.Temporal.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for iter.HasNext() {
			e, err := iter.Next()
			if err != nil {
				return nil, err
			}
			h.Events = append(h.Events, e)
		}
		out = append(out, h)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no run of the kind completed")
	}
	return out, nil
}

// replayKinds are the kinds a replay comparison replays in turn: the
// interpreter, the baseline, the baseline again, and the baseline slowed.
const (
	kindInterpreter = iota
	kindBaseline
	kindSame
	kindHandicapped
)

// compareReplays replays the interpreter's histories and the baseline's,
// passes times, and compares the CPU time each kind took per history.
func compareReplays(interp, base []*historypb.History, handicap float64, passes int) (*ReplayComparison, error) {
	replayer := sdkworker.NewWorkflowReplayer()
	replayer.RegisterWorkflowWithOptions(workflows.IncidentWorkflow, workflow.RegisterOptions{Name: workflows.WorkflowName})
	replayer.RegisterWorkflowWithOptions(BaselineWorkflow, workflow.RegisterOptions{Name: BaselineName})
	return compareReplaysWith(replayer, interp, base, handicap, passes)
}

// compareReplaysWith is compareReplays with a replayer that knows the
// histories' workflows.
func compareReplaysWith(replayer sdkworker.WorkflowReplayer, interp, base []*historypb.History, handicap float64, passes int) (*ReplayComparison, error) {
	replay := func(h *historypb.History) (time.Duration, error) {
		c0, err := ownCPU()
		if err != nil {
			return 0, err
		}
		if err := replayer.ReplayWorkflowHistory(nil, h); err != nil {
			return 0, fmt.Errorf("replay: %w", err)
		}
		c1, err := ownCPU()
		return c1 - c0, err
	}
	// Once untimed, so that no kind pays for what the first replay sets up.
	for _, h := range append(append([]*historypb.History{}, interp...), base...) {
		if _, err := replay(h); err != nil {
			return nil, err
		}
	}
	n := min(len(interp), len(base))
	c := &ReplayComparison{Handicap: handicap, Expected: 1 + handicap, Histories: [2]int{n, n}, Passes: passes}
	var total [4]time.Duration
	// The handicapped kind's extra replays not made yet, history by
	// history: each history is replayed Handicap more than counted alike
	// (exactly, when passes times Handicap is whole), in passes spread
	// over the run, each extra replay in a turn of its own.
	owed := make([]float64, n)
	for i := range owed {
		owed[i] = math.Mod(float64(i)*handicap, 1)
	}
	rng := rand.New(rand.NewPCG(26, 1))
	// The collector stays off while a pass replays, and collects between
	// passes: a collection's CPU time would fall on whichever replay it
	// came in, a lump bigger than a replay.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	for range passes {
		runtime.GC()
		var pass [4]time.Duration
		for i := range n {
			turns := []int{kindInterpreter, kindBaseline, kindSame, kindHandicapped}
			for owed[i] += handicap; owed[i] >= 1-1e-9; owed[i]-- {
				turns = append(turns, kindHandicapped)
			}
			rng.Shuffle(len(turns), func(a, b int) { turns[a], turns[b] = turns[b], turns[a] })
			for _, k := range turns {
				h := base[i]
				if k == kindInterpreter {
					h = interp[i]
				}
				d, err := replay(h)
				if err != nil {
					return nil, err
				}
				pass[k] += d
			}
		}
		for k := range total {
			total[k] += pass[k]
		}
		c.PassRatios = append(c.PassRatios, ratio(pass[kindBaseline], pass[kindInterpreter]))
		c.HandicappedPasses = append(c.HandicappedPasses, ratio(pass[kindHandicapped], pass[kindBaseline]))
		c.SamePasses = append(c.SamePasses, ratio(pass[kindSame], pass[kindBaseline]))
	}
	counted := float64(passes * n)
	c.InterpreterMs = 1000 * total[kindInterpreter].Seconds() / counted
	c.BaselineMs = 1000 * total[kindBaseline].Seconds() / counted
	c.Ratio = ratio(total[kindBaseline], total[kindInterpreter])
	c.Handicapped = ratio(total[kindHandicapped], total[kindBaseline])
	c.Same = ratio(total[kindSame], total[kindBaseline])
	return c, nil
}

// ratio is a over b, or 0 when b is nothing.
func ratio(a, b time.Duration) float64 {
	if b <= 0 {
		return 0
	}
	return a.Seconds() / b.Seconds()
}
