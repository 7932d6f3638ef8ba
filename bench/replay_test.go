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
// points.
func TestReplayComparisonSeesAKnownSlowdown(t *testing.T) {
	hs := recorded(t)
	for _, handicap := range []float64{0.25, 0.1} {
		c, err := compareReplays(hs, hs, handicap, replayPasses)
		require.NoError(t, err)
		t.Logf("handicap %.2f: %.3f ms an incident; handicapped %.3f, same %.3f, ratio %.3f; passes %.2f %.2f", handicap, c.BaselineMs, c.Handicapped, c.Same, c.Ratio, c.HandicappedPasses, c.SamePasses)
		require.InDelta(t, 1+handicap, c.Handicapped, ReplayTolerance)
		require.InDelta(t, 1, c.Same, ReplayTolerance)
		require.InDelta(t, 1, c.Ratio, ReplayTolerance, "the same histories on the interpreter's side")
	}
}
