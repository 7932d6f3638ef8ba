package bench

import (
	"net/http"
	"slices"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	updatepb "go.temporal.io/api/update/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestActionWaitsSplitAnActionWhereItsTimeWent(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	header := func(timing string) http.Header { return http.Header{"Server-Timing": {timing}} }
	acts := []action{
		// Sent at 0; its task scheduled at 10, taken at 30, completed at
		// 100; the API heard it accepted at 400 and completed at 401; the
		// answer came back at 420.
		timedAction(0, ms(0), ms(420), header("request;dur=5.0, accept;dur=395.0, complete;dur=1.0")),
		// Carried by a task scheduled before it was sent: it waited from 1000.
		timedAction(0, ms(1000), ms(1100), header("request;dur=2, accept;dur=60, complete;dur=0")),
		// No task of its run took it while it was in flight.
		timedAction(1, ms(0), ms(50), header("request;dur=2, accept;dur=40, complete;dur=1")),
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

// An update whose handler waits (its store write retried past the task's
// heartbeat, say) is accepted by one workflow task and completed by a later
// one. The accepting task is the one the action waited for, and the API
// heard the acceptance before the later task: the worker's part is the
// accepting task, and the wait from its completion to the API is not lost.
func TestActionWaitsUpdateCompletedInALaterTask(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	// Sent at 0; its task scheduled at 10, taken at 30, completed at 100
	// with the update accepted; the API heard so at 130; a later task
	// completed the update at 900; the API had its result at 905; the
	// answer came back at 920.
	acts := []action{timedAction(0, ms(0), ms(920), http.Header{"Server-Timing": {"request;dur=5.0, accept;dur=125.0, complete;dur=775.0"}})}
	carriers := [][]carrier{{{scheduled: ms(10), started: ms(30), accepted: ms(100), completed: ms(900)}}}
	w := splitWaits(carriers, acts)
	if w.Matched != 1 {
		t.Fatalf("matched %d actions, want 1", w.Matched)
	}
	if w.Worker.P50ms != 70 || w.ToAPI.P50ms != 30 {
		t.Errorf("the worker's task took %v ms (want 70: 30 to 100) and its completion reached the API in %v ms (want 30: 100 to 130); split %v",
			w.Worker.P50ms, w.ToAPI.P50ms, w.SlowestMs)
	}
}

// An action that failed (its answer lost, say) can leave its
// update admitted; the run accepts it later, while the next action on the
// same incident is in flight. That action is carried by its own update,
// not by the first one the run accepted meanwhile.
func TestActionWaitsIgnoreAnUpdateLeftByAFailedAction(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	// Sent at 2050; the API heard its update accepted at 2310 and had the
	// result at once; the answer came back at 2330.
	acts := []action{timedAction(0, ms(2050), ms(2330), http.Header{"Server-Timing": {"request;dur=5.0, accept;dur=255.0, complete;dur=0.0"}})}
	carriers := [][]carrier{{
		// The failed action's update, accepted at 2100.
		{scheduled: ms(2060), started: ms(2070), accepted: ms(2100), completed: ms(2100)},
		// This action's own: scheduled at 2200, taken at 2250, done at 2300.
		{scheduled: ms(2200), started: ms(2250), accepted: ms(2300), completed: ms(2300)},
	}}
	w := splitWaits(carriers, acts)
	if w.Matched != 1 {
		t.Fatalf("matched %d actions, want 1", w.Matched)
	}
	if w.ToTask.P50ms != 150 || w.ToAPI.P50ms != 10 {
		t.Errorf("paired with the wrong update: to its task %v ms (want 150), its completion to the API %v ms (want 10)", w.ToTask.P50ms, w.ToAPI.P50ms)
	}
}

// A run's history says when each update's accepting task was scheduled,
// taken and completed, and when a later task completed the update.
func TestCarriersAreReadFromTheRunsHistory(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	var id int64
	event := func(at int, typ enumspb.EventType, attrs func(*historypb.HistoryEvent)) *historypb.HistoryEvent {
		id++
		e := &historypb.HistoryEvent{EventId: id, EventType: typ, EventTime: timestamppb.New(ms(at))}
		if attrs != nil {
			attrs(e)
		}
		return e
	}
	accepted := func(update string) func(*historypb.HistoryEvent) {
		return func(e *historypb.HistoryEvent) {
			e.Attributes = &historypb.HistoryEvent_WorkflowExecutionUpdateAcceptedEventAttributes{WorkflowExecutionUpdateAcceptedEventAttributes: &historypb.WorkflowExecutionUpdateAcceptedEventAttributes{
				AcceptedRequest: &updatepb.Request{Meta: &updatepb.Meta{UpdateId: update}}}}
		}
	}
	completed := func(update string) func(*historypb.HistoryEvent) {
		return func(e *historypb.HistoryEvent) {
			e.Attributes = &historypb.HistoryEvent_WorkflowExecutionUpdateCompletedEventAttributes{WorkflowExecutionUpdateCompletedEventAttributes: &historypb.WorkflowExecutionUpdateCompletedEventAttributes{
				Meta: &updatepb.Meta{UpdateId: update}}}
		}
	}
	events := []*historypb.HistoryEvent{
		event(0, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, nil),
		event(0, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, nil),
		event(1, enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED, nil),
		event(5, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, nil),
		// The first update, accepted and completed by one task.
		event(100, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, nil),
		event(120, enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED, nil),
		event(150, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, nil),
		event(150, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED, accepted("a")),
		event(150, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED, completed("a")),
		// The second, accepted by one task and completed by the next.
		event(200, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, nil),
		event(210, enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED, nil),
		event(230, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, nil),
		event(230, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED, accepted("b")),
		event(400, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, nil),
		event(410, enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED, nil),
		event(420, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, nil),
		event(420, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED, completed("b")),
	}
	got := carriersIn(events)
	want := []carrier{
		{scheduled: ms(100), started: ms(120), accepted: ms(150), completed: ms(150)},
		{scheduled: ms(200), started: ms(210), accepted: ms(230), completed: ms(420)},
	}
	if !slices.Equal(got, want) {
		t.Errorf("carriers %v, want %v", got, want)
	}
}

// A Server-Timing without all three parts leaves the action unsplit; one
// with others beside them is read (impossible values:
// TestTimedActionRefusesImpossibleServerTiming).
func TestOddServerTimingLeavesTheActionUnsplit(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	for _, timing := range []string{"", "request;dur=1", "request;dur=1, accept;dur=1", "request, accept, complete"} {
		if a := timedAction(0, t0, t0.Add(time.Second), http.Header{"Server-Timing": {timing}}); !a.completed.IsZero() {
			t.Errorf("%q was taken as the API's timing: %+v", timing, a)
		}
	}
	a := timedAction(0, t0, t0.Add(time.Second), http.Header{"Server-Timing": {" request;dur=2.5 ,accept;dur=10,complete;dur=0.5, extra;dur=3"}})
	if a.accepted != t0.Add(12500*time.Microsecond) || a.completed != t0.Add(13*time.Millisecond) {
		t.Errorf("the API's timing was read as accepted %v, completed %v", a.accepted, a.completed)
	}
}
