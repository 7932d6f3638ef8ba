package bench

import (
	"net/http"
	"testing"
	"time"
)

func TestActionWaitsSplitAnActionWhereItsTimeWent(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	header := func(timing string) http.Header { return http.Header{"Server-Timing": {timing}} }
	acts := []action{
		// Sent at 0; its task scheduled at 10, taken at 30, completed at
		// 100; the API heard it accepted at 400 and completed at 401; the
		// answer came back at 420.
		timedAction(0, ms(0), ms(420), header("lookup;dur=5.0, accept;dur=395.0, complete;dur=1.0")),
		// Carried by a task scheduled before it was sent: it waited from 1000.
		timedAction(0, ms(1000), ms(1100), header("lookup;dur=2, accept;dur=60, complete;dur=0")),
		// No task of its run took it while it was in flight.
		timedAction(1, ms(0), ms(50), header("lookup;dur=2, accept;dur=40, complete;dur=1")),
		// An answer without the API's timing cannot be split.
		timedAction(1, ms(2000), ms(2100), http.Header{}),
	}
	carriers := [][]carrier{
		{{scheduled: ms(10), started: ms(30), accepted: ms(100), completed: ms(100)},
			{scheduled: ms(950), started: ms(1020), accepted: ms(1040), completed: ms(1040)}},
		{{scheduled: ms(60), started: ms(70), accepted: ms(80), completed: ms(80)},
			{scheduled: ms(2010), started: ms(2020), accepted: ms(2030), completed: ms(2030)}},
	}
	w := splitWaits(carriers, acts)
	if w.Matched != 2 {
		t.Fatalf("matched %d actions, want 2: %+v", w.Matched, w)
	}
	// The slowest hundredth of two actions is the first alone.
	want := [waitParts]float64{10, 20, 70, 300, 1, 19}
	if w.SlowestMs != want {
		t.Errorf("the slowest action was split %v, want %v", w.SlowestMs, want)
	}
	// The second: no wait for its task, 20 queued from its sending, 20 in
	// the worker, 22 to the API, none for the result, 38 after.
	if w.ToTask.P50ms != 0 || w.Queued.P50ms != 20 || w.Worker.P50ms != 20 || w.ToAPI.P50ms != 22 || w.AfterUpdate.P50ms != 19 {
		t.Errorf("the quicker action's parts: to task %v, queued %v, worker %v, to API %v, after %v",
			w.ToTask.P50ms, w.Queued.P50ms, w.Worker.P50ms, w.ToAPI.P50ms, w.AfterUpdate.P50ms)
	}
	if w.AfterUpdate.Maxms != 38 {
		t.Errorf("the slowest answer after the update took %v ms, want 38", w.AfterUpdate.Maxms)
	}
}
