package bench

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// fine is a report of a calibrated comparison that meets every target.
func fine() Report {
	return Report{
		Options: Options{Load: 2000},
		Declare: Latency{Count: 100}, Burst: Latency{Count: 20},
		Alerts: &Alerts{Notifications: 12, Fingerprints: 30, Incidents: 30},
		Load: &Load{Declarations: Latency{Count: 2000}, Reads: Latency{Count: 900, P99ms: 40}, LiveReads: Latency{Count: 90, P99ms: 1800},
			Actions: Latency{Count: 300, P99ms: 400}},
		Overhead: &Overhead{ThroughputRatio: 0.97, EventsRatio: 1.02, Calibration: Calibration{
			Handicap: 0.2, Expected: 1.2, Measured: 1.17, Same: 1.01, PaddingEvents: 10, MeasuredPadding: 10}},
	}
}

// The bench fails — and says why — when a target is missed, when the
// harness did not see a difference it was told of, and when it saw one
// where there was none; a quick run's coarse comparison is never judged against
// the 10% target.
func TestCheck(t *testing.T) {
	require.Empty(t, fine().Check())
	require.True(t, fine().Judged())
	for _, tc := range []struct {
		name   string
		change func(*Report)
		want   string
	}{
		{"ErrSlowInterpreter", func(r *Report) { r.Overhead.ThroughputRatio = 0.8 }, "the interpreter completes 0.80 (±0.05) incidents for each the hand-written workflow does; the target is at least 0.90"},
		{"ErrLongHistories", func(r *Report) { r.Overhead.EventsRatio = 1.2 }, "1.20 times the hand-written workflow's history events"},
		{"ErrBlindComparison", func(r *Report) { r.Overhead.Calibration.Measured = 1.02 }, "handicapped by 20% should have compared at 1.20 with itself, and compared at 1.02"},
		{"ErrComparisonSeesGhosts", func(r *Report) { r.Overhead.Calibration.Same = 1.15 }, "the baseline compared with itself at 1.15, not 1 within 0.10"},
		{"ErrMiscountedEvents", func(r *Report) { r.Overhead.Calibration.MeasuredPadding = 0 }, "a baseline padded with 10 events counted 0 more"},
		{"ErrDeclareErrors", func(r *Report) { r.Declare.Errors = 3 }, "3 of 103 declarations failed"},
		{"ErrBurstUnpaged", func(r *Report) { r.Burst.Errors = 2 }, "2 incidents of the burst were not paged"},
		{"ErrAlertsUngrouped", func(r *Report) { r.Alerts.Incidents = 31 }, "alert intake declared 31 incidents for 30 fingerprints"},
		{"ErrBigPayloadUngrouped", func(r *Report) { r.Alerts.BigPayload, r.Alerts.BigIncidents = 100, 99 }, "one notification of 100 alerts declared 99 incidents"},
		{"ErrBigPayloadUnstarted", func(r *Report) { r.Alerts.BigPayload, r.Alerts.BigIncidents, r.Alerts.BigUnstarted = 100, 100, 3 }, "left 3 runs not started"},
		{"ErrBigPayloadSlow", func(r *Report) { r.Alerts.BigPayload, r.Alerts.BigIncidents, r.Alerts.BigSeconds = 5000, 5000, 52.4 }, "one notification of 5000 alerts was answered in 52.4 s; the target is under 10 s"},
		{"ErrSlowReads", func(r *Report) { r.Load.Reads.P99ms = 140 }, "under load, reading an incident took 140 ms at p99; the target is under 100 ms"},
		{"ErrSlowActions", func(r *Report) { r.Load.Actions.P99ms = 30000 }, "under load, acknowledging or changing a status took 30000 ms at p99; the target is under 1000 ms"},
		{"ErrFailedActions", func(r *Report) { r.Load.Actions.Errors = 4 }, "under load, 4 of 304 acknowledgements and status changes failed"},
		{"ErrReadsWithoutState", func(r *Report) { r.Load.Without = 7 }, "under load, 7 of 900 reads of an incident failed or came without its state"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := fine()
			tc.change(&r)
			require.Contains(t, strings.Join(r.Check(), "\n"), tc.want)
		})
	}
	t.Run("UncalibratedIsNotJudged", func(t *testing.T) {
		r := fine()
		r.Overhead.Calibration.Measured, r.Overhead.ThroughputRatio = 1.0, 0.5
		require.Len(t, r.Check(), 1, "only the calibration: an untrusted comparison says nothing of the interpreter")
	})
	t.Run("NoisyIsNotJudged", func(t *testing.T) {
		r := fine()
		r.Overhead.Calibration.SameRatios = []float64{0.82, 1.01, 1.18}
		r.Overhead.ThroughputRatio = 0.85
		require.InDelta(t, 0.18, r.Overhead.Calibration.Resolution(), 1e-9, "half the spread of the baseline against itself")
		require.Empty(t, r.Check(), "rounds that swing 18%% either way cannot judge a 10%% target")
		require.False(t, r.Judged())
	})
	t.Run("ResolutionIsTheErrorWhereTheAnswerWasKnown", func(t *testing.T) {
		c := fine().Overhead.Calibration
		require.InDelta(t, 0.05, c.Resolution(), 1e-9, "a quarter of the handicap at best")
		c.Measured = 1.28
		require.InDelta(t, 0.08, c.Resolution(), 1e-9, "the handicap seen 0.08 off")
		c.Same = 0.91
		require.InDelta(t, 0.09, c.Resolution(), 1e-9, "the baseline 0.09 off itself")
	})
	t.Run("SmallLoadIsNotTimed", func(t *testing.T) {
		r := fine()
		r.Options.Load, r.Load.Declarations.Count, r.Load.Reads.P99ms, r.Load.Actions.P99ms = 100, 100, 500, 5000
		require.Empty(t, r.Check(), "a hundred declarations saturate nothing: their latencies are not judged")
		r.Load.Actions.Errors = 1
		require.Len(t, r.Check(), 1, "but what failed did")
	})
	t.Run("ReplayJudgesTheWorkflowCode", func(t *testing.T) {
		r := fine()
		r.Overhead.Calibration.Measured, r.Overhead.ThroughputRatio = 1.6, 0.5 // a whole-stack comparison too noisy to trust
		r.Overhead.Replay = &ReplayComparison{InterpreterMs: 3.8, BaselineMs: 1.6, Ratio: 0.42, Handicap: 0.2, Expected: 1.2, Handicapped: 1.22, Same: 0.98}
		r.Overhead.Replay.throughput(100, 0.25)
		require.InDelta(t, 100/102.2, r.Overhead.Replay.Throughput, 1e-9)
		require.InDelta(t, 100/102.2-75/(75+2.2+0.032), r.Overhead.Replay.ThroughputResolution, 1e-6, "the stack a quarter smaller, the extra cost the replay's error larger")
		require.Empty(t, r.Check(), "the replay comparison, calibrated, judges: the code's 2.2 ms more on a 100 ms stack is within 10%%")
		require.True(t, r.Judged())
		r.Overhead.Replay.throughput(10, 0.25)
		require.Contains(t, strings.Join(r.Check(), "\n"), "it completes 0.820 (±0.049) incidents for each the hand-written workflow does; the target is at least 0.90")
		r.Overhead.Replay.throughput(20, 0.4)
		require.False(t, r.Judged(), "0.901 ±0.06 is within its resolution of the target: not judged")
		require.Empty(t, r.Check())
		r.Overhead.Replay.throughput(100, 0.25)
		r.Options.Quick, r.Overhead.Replay.Handicapped = true, 1.4
		require.Empty(t, r.Check(), "a quick run's comparison is a smoke check")
		require.False(t, r.Judged())
		r.Options.Quick, r.Overhead.Replay.Handicapped = false, 1.22
		r.Overhead.Replay.Handicapped = 1.27
		require.Contains(t, strings.Join(r.Check(), "\n"), "the comparison of workflow code cannot be trusted: the baseline replayed 20% more than counted should have cost 1.20 times the baseline, and cost 1.27")
		require.False(t, r.Judged())
		r.Overhead.Replay.Handicapped, r.Overhead.Replay.Same = 1.2, 1.06
		require.Contains(t, strings.Join(r.Check(), "\n"), "the baseline replayed again cost 1.06 times the baseline, not 1 within 0.05")
	})
	t.Run("QuickIsNotJudged", func(t *testing.T) {
		r := fine()
		r.Overhead.Calibration = Calibration{Handicap: 1, Expected: 2, Measured: 1.8, Same: 0.9, PaddingEvents: 10, MeasuredPadding: 11}
		r.Overhead.ThroughputRatio = 0.7
		require.Empty(t, r.Check())
		require.False(t, r.Judged())
	})
}
