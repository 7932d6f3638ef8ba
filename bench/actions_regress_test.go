package bench

import (
	"net/http"
	"testing"
	"time"
)

// An action sent at 0 and answered at 100 ms, whose run's task carried its
// update at 40: only its Server-Timing decides whether it is split.
func splitOne(h http.Header) *ActionWaits {
	t0 := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	carriers := [][]carrier{{{scheduled: ms(10), started: ms(20), accepted: ms(40), completed: ms(40)}}}
	return splitWaits(carriers, []action{timedAction(0, ms(0), ms(100), h)})
}

// A Server-Timing the API cannot have sent (a part below zero, not a
// number, beyond any clock, or parts longer than the whole round trip the
// client measured) is no timing at all: the action is left unsplit rather
// than split into invented parts clamped into its round trip.
func TestTimedActionRefusesImpossibleServerTiming(t *testing.T) {
	for name, timing := range map[string]string{
		"NegativePart":        "request;dur=-30, accept;dur=60, complete;dur=1",
		"NotANumber":          "request;dur=NaN, accept;dur=60, complete;dur=1",
		"Infinite":            "request;dur=2, accept;dur=+Inf, complete;dur=1",
		"BeyondAnyDuration":   "request;dur=2, accept;dur=1e300, complete;dur=1",
		"LongerThanRoundTrip": "request;dur=5, accept;dur=395, complete;dur=1",
	} {
		t.Run(name, func(t *testing.T) {
			if w := splitOne(http.Header{"Server-Timing": {timing}}); w.Matched != 0 {
				t.Errorf("Server-Timing %q on a 100 ms round trip was split as if true: %v", timing, w.SlowestMs)
			}
		})
	}
}

// Server-Timing's grammar (W3C Server Timing, §3) allows whitespace around
// ";" and "=", other parameters before dur, a quoted dur, and the header
// split over several field lines (a proxy adding its own metric): each is
// the same timing and is split like the plain form.
func TestTimedActionReadsEveryLegalServerTiming(t *testing.T) {
	plain := splitOne(http.Header{"Server-Timing": {"request;dur=5, accept;dur=40, complete;dur=1"}})
	if plain.Matched != 1 {
		t.Fatalf("the plain header was not split: %+v", plain)
	}
	for name, h := range map[string]http.Header{
		"SpacesAroundSemicolon": {"Server-Timing": {"request ; dur=5, accept ; dur=40, complete ; dur=1"}},
		"SpacesAroundEquals":    {"Server-Timing": {"request;dur = 5, accept;dur = 40, complete;dur = 1"}},
		"DescBeforeDur":         {"Server-Timing": {`request;desc="finding it";dur=5, accept;desc="run";dur=40, complete;dur=1`}},
		"QuotedDur":             {"Server-Timing": {`request;dur="5", accept;dur="40", complete;dur="1"`}},
		"ProxyLineFirst":        {"Server-Timing": {"edge;dur=0.3", "request;dur=5, accept;dur=40, complete;dur=1"}},
	} {
		t.Run(name, func(t *testing.T) {
			w := splitOne(h)
			if w.Matched != 1 || w.SlowestMs != plain.SlowestMs {
				t.Errorf("Server-Timing %q matched %d, split %v; want as the plain form, 1 and %v", h.Values("Server-Timing"), w.Matched, w.SlowestMs, plain.SlowestMs)
			}
		})
	}
}
