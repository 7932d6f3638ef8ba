package bench

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/proto"

	"github.com/incidentflow/incidentflow/workflows"
)

// recorded are the interpreter's histories the replay tests keep.
func recorded(t *testing.T) []*historypb.History {
	t.Helper()
	files, err := filepath.Glob("../workflows/testdata/*.json")
	require.NoError(t, err)
	older, err := filepath.Glob("../workflows/testdata/v*/*.json")
	require.NoError(t, err)
	files = append(files, older...)
	var out []*historypb.History
	for _, f := range files {
		r, err := os.Open(f)
		require.NoError(t, err)
		h, err := client.HistoryFromJSON(r, client.HistoryJSONOptions{})
		_ = r.Close()
		require.NoError(t, err)
		out = append(out, h)
	}
	require.NotEmpty(t, out)
	return out
}

// The replay comparison sees a known slowdown at its size: one side
// replayed a quarter more than it is counted costs 1.25 times as much,
// and the same histories on both sides cost the same, each within five
// points. (Every recorded history, released sets included, forty passes:
// the error it may make is a quarter of the tolerance.)
func TestReplayComparisonSeesAKnownSlowdown(t *testing.T) {
	hs := recorded(t)
	c, err := compareReplays(hs, hs, 0.25, replayPasses)
	require.NoError(t, err)
	t.Logf("%d histories: %.3f ms an incident; handicapped %.3f, same %.3f, ratio %.3f", len(hs), c.BaselineMs, c.Handicapped, c.Same, c.Ratio)
	require.InDelta(t, 1.25, c.Handicapped, ReplayTolerance)
	require.InDelta(t, 1, c.Same, ReplayTolerance)
	require.InDelta(t, 1, c.Ratio, ReplayTolerance, "the same histories on the interpreter's side")
}

// spinSink keeps spin's work from being optimised away.
var spinSink uint64

// spin is a known amount of CPU work: rounds of a linear congruential
// generator.
func spin(rounds int) {
	x := spinSink
	for range rounds {
		x = x*6364136223846793005 + 1442695040888963407
	}
	spinSink = x
}

// spinRounds is how much slower the slowed side's workflow code is made.
const spinRounds = 1_200_000

// slowedIncident is the interpreter's workflow with spinRounds of work
// done once more at its start, in every replay.
func slowedIncident(ctx workflow.Context, in workflows.Input) error {
	spin(spinRounds)
	return workflows.IncidentWorkflow(ctx, in)
}

// The replay comparison sees workflow code made slower by a known amount:
// the recorded histories replayed once as they are and once with their
// workflow doing spinRounds of work more, the slowed side costs what the
// work costs alone more, within five points of the other side's cost.
func TestReplayComparisonSeesSlowerCode(t *testing.T) {
	hs := recorded(t)
	slowed := make([]*historypb.History, len(hs))
	for i, h := range hs {
		c := proto.Clone(h).(*historypb.History)
		c.Events[0].GetWorkflowExecutionStartedEventAttributes().WorkflowType.Name = "slowed-incident"
		slowed[i] = c
	}
	// What the work costs alone, measured as a replay runs it: by the
	// process's CPU, on a goroutine of its own while this one waits (the
	// scheduler's search for work on the idle core is part of what a replay
	// costs too).
	var alone time.Duration
	const times = 50
	for range times {
		c0, err := ownCPU()
		require.NoError(t, err)
		done := make(chan struct{})
		go func() { spin(spinRounds); close(done) }()
		<-done
		c1, err := ownCPU()
		require.NoError(t, err)
		alone += c1 - c0
	}
	extra := alone.Seconds() * 1000 / times
	replayer := sdkworker.NewWorkflowReplayer()
	replayer.RegisterWorkflowWithOptions(workflows.IncidentWorkflow, workflow.RegisterOptions{Name: workflows.WorkflowName})
	replayer.RegisterWorkflowWithOptions(slowedIncident, workflow.RegisterOptions{Name: "slowed-incident"})
	c, err := compareReplaysWith(replayer, slowed, hs, 0.25, 20)
	require.NoError(t, err)
	want := c.BaselineMs / (c.BaselineMs + extra)
	t.Logf("%d histories: %.3f ms an incident, %.3f ms slowed, the work alone %.3f ms: ratio %.3f, expected %.3f", len(hs), c.BaselineMs, c.InterpreterMs, extra, c.Ratio, want)
	require.InDelta(t, want, c.Ratio, ReplayTolerance)
	require.Less(t, c.Ratio, 1-2*ReplayTolerance, "the slowdown is plain")
}
