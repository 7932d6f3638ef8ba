package bench

import (
	"fmt"
	"math"
	"time"
)

// Targets of the performance contract (DESIGN.md §9).
const (
	// MaxOverhead is how much slower, and how much longer in history, the
	// interpreter may be than the hand-written workflow.
	MaxOverhead = 0.10
	// padTolerance is how far the counted padding may be from the known one.
	padTolerance = 1
	// MaxReadP99 and MaxActionP99 bound what a person waits under load, at
	// the 99th percentile, for reading an incident and for acting on one;
	// they are judged when the load is at least judgedLoad declarations.
	// ReplayTolerance is how far the comparison of workflow code may see a
	// known difference (a handicap, or none) from its size.
	ReplayTolerance = 0.05
	MaxReadP99      = 100 * time.Millisecond
	MaxActionP99    = time.Second
	judgedLoad      = 1000
	// MaxBigPayload bounds the answer to one notification of at least
	// judgedBigPayload alerts.
	MaxBigPayload    = 10 * time.Second
	judgedBigPayload = 5000
)

// Check judges the report: it returns what fell short, or nothing. A
// comparison is judged only when its harness was seen to work: it saw the
// known handicap at about its size (within half of it), saw about no
// difference where there was none, and counted the known padding of
// history events. The interpreter's throughput is judged only when the
// comparison's resolution — the error it made where the answer was known —
// is fine enough for the target; a quick run's is not, and says so. When
// the workflow code's cost was measured by replay, that comparison is the
// one judged (checkReplay), and the whole stack's CPU comparison is only
// reported: on a machine the stack keeps busy it cannot resolve 10%.
func (r Report) Check() []string {
	var out []string
	if r.Declare.Errors > 0 {
		out = append(out, fmt.Sprintf("%d of %d declarations failed", r.Declare.Errors, r.Declare.Count+r.Declare.Errors))
	}
	if r.Burst.Errors > 0 {
		out = append(out, fmt.Sprintf("%d incidents of the burst were not paged", r.Burst.Errors))
	}
	if a := r.Alerts; a != nil {
		if a.Latency.Errors > 0 {
			out = append(out, fmt.Sprintf("%d of %d alert notifications failed", a.Latency.Errors, a.Notifications))
		}
		if a.Incidents != a.Fingerprints {
			out = append(out, fmt.Sprintf("alert intake declared %d incidents for %d fingerprints: grouping is broken", a.Incidents, a.Fingerprints))
		}
		if a.BigPayload > 0 && a.BigIncidents != a.BigPayload {
			out = append(out, fmt.Sprintf("one notification of %d alerts declared %d incidents", a.BigPayload, a.BigIncidents))
		}
		if a.BigUnstarted > 0 {
			out = append(out, fmt.Sprintf("one notification of %d alerts left %d runs not started after %.0f s", a.BigPayload, a.BigUnstarted, a.BigStarted))
		}
		if a.BigPayload >= judgedBigPayload && a.BigSeconds >= MaxBigPayload.Seconds() {
			out = append(out, fmt.Sprintf("one notification of %d alerts was answered in %.1f s; the target is under %.0f s", a.BigPayload, a.BigSeconds, MaxBigPayload.Seconds()))
		}
	}
	out = append(out, r.Load.check(r.Options.Load)...)
	o := r.Overhead
	if o == nil {
		return out
	}
	if o.Replay != nil {
		return append(out, o.checkReplay(r.Options.Quick)...)
	}
	c := o.Calibration
	tolerance := c.Handicap / 2
	calibrated := true
	if d := c.Measured - c.Expected; d > tolerance || d < -tolerance {
		calibrated = false
		out = append(out, fmt.Sprintf("the comparison cannot be trusted: the baseline handicapped by %.0f%% should have compared at %.2f with itself, and compared at %.2f",
			100*c.Handicap, c.Expected, c.Measured))
	}
	if d := c.Same - 1; d > tolerance || d < -tolerance {
		calibrated = false
		out = append(out, fmt.Sprintf("the comparison cannot be trusted: the baseline compared with itself at %.2f, not 1 within %.2f", c.Same, tolerance))
	}
	if d := c.MeasuredPadding - c.PaddingEvents; d > padTolerance || d < -padTolerance {
		calibrated = false
		out = append(out, fmt.Sprintf("history events are miscounted: a baseline padded with %d events counted %d more", c.PaddingEvents, c.MeasuredPadding))
	}
	if !calibrated {
		return out
	}
	if o.EventsRatio > 1+MaxOverhead {
		out = append(out, fmt.Sprintf("the interpreter's runs have %.2f times the hand-written workflow's history events; the target is at most %.2f",
			o.EventsRatio, 1+MaxOverhead))
	}
	if r.Judged() && o.ThroughputRatio < 1-MaxOverhead {
		out = append(out, fmt.Sprintf("the interpreter completes %.2f (±%.2f) incidents for each the hand-written workflow does; the target is at least %.2f",
			o.ThroughputRatio, o.Resolution(), 1-MaxOverhead))
	}
	return out
}

// checkReplay judges the interpreter by its workflow code's cost, once the
// comparison was seen to work: it saw the known handicap, and the baseline
// against itself, each within ReplayTolerance, and counted the known
// padding of history events.
func (o *Overhead) checkReplay(quick bool) []string {
	var out []string
	t, c := o.Replay, o.Calibration
	if quick {
		return nil // a smoke check: reported, never judged
	}
	if d := t.Handicapped - t.Expected; math.Abs(d) > ReplayTolerance {
		out = append(out, fmt.Sprintf("the comparison of workflow code cannot be trusted: the baseline replayed %.0f%% more than counted should have cost %.2f times the baseline, and cost %.2f",
			100*t.Handicap, t.Expected, t.Handicapped))
	}
	if d := t.Same - 1; math.Abs(d) > ReplayTolerance {
		out = append(out, fmt.Sprintf("the comparison of workflow code cannot be trusted: the baseline replayed again cost %.2f times the baseline, not 1 within %.2f", t.Same, ReplayTolerance))
	}
	if d := c.MeasuredPadding - c.PaddingEvents; d > padTolerance || d < -padTolerance {
		out = append(out, fmt.Sprintf("history events are miscounted: a baseline padded with %d events counted %d more", c.PaddingEvents, c.MeasuredPadding))
	}
	if len(out) > 0 {
		return out
	}
	if o.EventsRatio > 1+MaxOverhead {
		out = append(out, fmt.Sprintf("the interpreter's runs have %.2f times the hand-written workflow's history events; the target is at most %.2f",
			o.EventsRatio, 1+MaxOverhead))
	}
	if t.Throughput+t.ThroughputResolution < 1-MaxOverhead {
		out = append(out, fmt.Sprintf("the interpreter's workflow code costs %.3f ms of CPU an incident more than the hand-written workflow's (%.3f against %.3f), on a stack costing %.1f ms an incident: it completes %.3f (±%.3f) incidents for each the hand-written workflow does; the target is at least %.2f",
			t.InterpreterMs-t.BaselineMs, t.InterpreterMs, t.BaselineMs, t.StackMs, t.Throughput, t.ThroughputResolution, 1-MaxOverhead))
	}
	return out
}

// Judged reports whether Check judged the interpreter's throughput against
// the target: the comparison must resolve finely enough for it, and its
// ratio be clear of the target by more than the resolution, above (a pass)
// or below (a failure). A ratio within the resolution of the target is
// neither.
func (r Report) Judged() bool {
	if r.Overhead == nil {
		return false
	}
	if t := r.Overhead.Replay; t != nil {
		target := 1 - MaxOverhead
		return !r.Options.Quick && t.Resolution() <= ReplayTolerance &&
			(t.Throughput-t.ThroughputResolution >= target || t.Throughput+t.ThroughputResolution < target)
	}
	res, target := r.Overhead.Resolution(), 1-MaxOverhead
	return res <= MaxOverhead && (r.Overhead.ThroughputRatio-res >= target || r.Overhead.ThroughputRatio+res < target)
}

// check judges what people met under a load of asked declarations:
// nothing may fail, the flood must be all there, and under a full load
// people wait no longer than the targets.
func (l *Load) check(asked int) []string {
	if l == nil {
		return nil
	}
	var out []string
	if d := l.Declarations; d.Errors > 0 || d.Count < asked {
		out = append(out, fmt.Sprintf("under load, %d of the %d declarations asked for were made (%d failed): the flood was not all there", d.Count, asked, d.Errors))
	}
	if n := l.Reads.Errors + l.Without; n > 0 {
		out = append(out, fmt.Sprintf("under load, %d of %d reads of an incident failed or came without its state", n, l.Reads.Count+l.Reads.Errors))
	}
	if l.Actions.Errors > 0 {
		out = append(out, fmt.Sprintf("under load, %d of %d acknowledgements and status changes failed", l.Actions.Errors, l.Actions.Count+l.Actions.Errors))
	}
	if asked < judgedLoad {
		return out
	}
	ms := func(d time.Duration) float64 { return float64(d.Milliseconds()) }
	if l.Reads.P99ms > ms(MaxReadP99) {
		out = append(out, fmt.Sprintf("under load, reading an incident took %.0f ms at p99; the target is under %.0f ms", l.Reads.P99ms, ms(MaxReadP99)))
	}
	if l.Actions.P99ms > ms(MaxActionP99) {
		out = append(out, fmt.Sprintf("under load, acknowledging or changing a status took %.0f ms at p99; the target is under %.0f ms", l.Actions.P99ms, ms(MaxActionP99)))
	}
	return out
}
