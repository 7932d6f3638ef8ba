package bench

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// A load run earns its pass: a flood whose declarations failed, or that the
// deadline cut short of the load asked for, is not a pass.
func TestLoadPassIsEarned(t *testing.T) {
	t.Run("FailedDeclarations", func(t *testing.T) {
		r := fine()
		r.Load.Declarations.Errors = 5
		require.NotEmpty(t, r.Check(), "5 declarations of the flood failed, and the report passes")
	})
	t.Run("MostOfTheFloodFailed", func(t *testing.T) {
		r := fine()
		r.Options.Load = 2000
		r.Load.Declarations = Latency{Count: 400, Errors: 1600}
		r.Load.Reads.P99ms, r.Load.Actions.P99ms = 900, 20000
		require.NotEmpty(t, r.Check(), "1,600 of 2,000 declarations failed, reads took 900 ms and actions 20 s at p99: a pass")
	})
	t.Run("CutShortByTheDeadline", func(t *testing.T) {
		r := fine()
		r.Options.Load = 2000
		r.Load.Declarations = Latency{Count: 999}
		r.Load.Reads.P99ms, r.Load.Actions.P99ms = 900, 20000
		require.NotEmpty(t, r.Check(), "the deadline stopped the flood at 999 of 2,000, so its latencies went unjudged: a pass")
	})
}
