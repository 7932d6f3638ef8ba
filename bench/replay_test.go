package bench

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
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
