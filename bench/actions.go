package bench

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"

	"github.com/incidentflow/incidentflow"
)

// ActionWaits splits the time of people's actions under load by where it
// went, read from their runs' histories and the API's Server-Timing: each
// action is a Temporal Update, carried by a workflow task whose events say
// when the history service scheduled it, when a worker took it and when the
// worker completed it; the API says when its update was answered.
type ActionWaits struct {
	// Matched counts the actions found in their runs' histories.
	Matched int `json:"matched"`
	// ToTask is from the request to the workflow task that carried it
	// being scheduled: the API finding the incident, the frontend, the
	// history service, and a task of the same run already in hand. Queued
	// is the task waiting for a worker to take it (matching, pollers,
	// sticky queues). Worker is the worker's task, the change's write to
	// the store included. ToAPI is from the task's completion to the API
	// hearing the update was accepted: the history's write of the task,
	// and the way back through the frontend. Result is from there to the
	// API having the update's result: the run's later tasks, when one
	// completed the update, and the API's second call. AfterUpdate is the
	// API's answer after that (its audit log entry, the HTTP answer) and
	// the trips between the bench and the API, both ways: the API's timing
	// starts when the request reached it, and the bench counts it from the
	// moment it sent the request, so ToAPI is short by the trip there.
	ToTask      Latency `json:"to_task"`
	Queued      Latency `json:"queued"`
	Worker      Latency `json:"worker"`
	ToAPI       Latency `json:"to_api"`
	Result      Latency `json:"result"`
	AfterUpdate Latency `json:"after_update"`
	// SlowestMs is, for the slowest hundredth of the matched actions (at
	// least one), the mean of each part in ms, in the order above: where
	// the tail waited.
	SlowestMs [waitParts]float64 `json:"slowest_ms"`
}

const waitParts = 6

// action is one timed action on one of the load's targets: when it was
// sent, when the API heard its update accepted and completed (by its
// Server-Timing), and when its answer came back.
type action struct {
	target                          int
	sent, accepted, completed, back time.Time
}

// timedAction is the action sent at sent and answered with header at back.
// Timing the API cannot have sent (a part below zero or not a number, or
// parts longer than the round trip) leaves it unsplit.
func timedAction(target int, sent, back time.Time, header http.Header) action {
	a := action{target: target, sent: sent, back: back}
	dur := serverTiming(header)
	request, ok1 := dur["request"]
	accept, ok2 := dur["accept"]
	complete, ok3 := dur["complete"]
	sum := request + accept + complete
	if !ok1 || !ok2 || !ok3 || min(request, accept, complete) < 0 || !(sum <= float64(back.Sub(sent).Microseconds())/1000+1) {
		return a
	}
	ms := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
	a.accepted = sent.Add(ms(request + accept))
	a.completed = a.accepted.Add(ms(complete))
	return a
}

// serverTiming reads the durations of a Server-Timing header, in ms by
// metric name, in any form its grammar allows (W3C Server Timing):
// several field lines, whitespace around ";" and "=", other parameters,
// quoted values (which may hold "," and ";"), a metric's first dur.
func serverTiming(h http.Header) map[string]float64 {
	out := map[string]float64{}
	for _, line := range h.Values("Server-Timing") {
		for _, metric := range splitUnquoted(line, ',') {
			params := splitUnquoted(metric, ';')
			for _, p := range params[1:] {
				k, v, ok := strings.Cut(p, "=")
				if !ok || strings.TrimSpace(k) != "dur" {
					continue
				}
				if ms, err := strconv.ParseFloat(strings.Trim(strings.TrimSpace(v), `"`), 64); err == nil {
					out[strings.TrimSpace(params[0])] = ms
				}
				break
			}
		}
	}
	return out
}

// splitUnquoted splits s at each sep outside a quoted-string (RFC 9110:
// double quotes, a backslash escaping the character after it).
func splitUnquoted(s string, sep byte) []string {
	var out []string
	quoted, start := false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == sep:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// carrier is what a run's history says of one update: its workflow task's
// schedule, start and completion, and when the task that completed the
// update completed.
type carrier struct {
	scheduled, started, accepted, completed time.Time
}

// actionWaits reads each target's history and splits every action it can
// match (the update the run accepted while the action was in flight). A
// history it cannot read leaves that target's actions unsplit, and says so.
func (b *runner) actionWaits(ctx context.Context, targets []string, acts []action) *ActionWaits {
	carriers := make([][]carrier, len(targets))
	for i, ref := range targets {
		cs, err := b.carriers(ctx, incidentflow.WorkflowID(ref))
		if err != nil {
			b.o.Log("load: the history of %s could not be read, so its actions are not split: %v", ref, err)
			continue
		}
		carriers[i] = cs
	}
	return splitWaits(carriers, acts)
}

// splitWaits splits each action by the carrier of its target's run that
// took it: the last update the run accepted before the API heard an
// acceptance, while the action was in flight (actions on one target are
// sent one at a time; one that failed may leave its update to be accepted
// during the next). Times from the history are the Temporal server's
// clock, the rest the bench's: the split assumes one clock, as on one
// machine.
func splitWaits(carriers [][]carrier, acts []action) *ActionWaits {
	var parts [waitParts][]time.Duration
	type split struct {
		total time.Duration
		parts [waitParts]time.Duration
	}
	var splits []split
	for _, a := range acts {
		c, ok := carrierOf(carriers[a.target], a)
		if !ok {
			continue
		}
		// Each moment is kept in order after the one before: a task
		// scheduled before the action was sent carried it too, and the
		// action waited only from its sending. A later task of the run
		// that completed the update falls in the result's part.
		at := []time.Time{a.sent, c.scheduled, c.started, c.accepted, a.accepted, a.completed, a.back}
		for j := 1; j < len(at); j++ {
			at[j] = earlier(later(at[j], at[j-1]), a.back)
		}
		s := split{total: a.back.Sub(a.sent)}
		for p := range s.parts {
			s.parts[p] = at[p+1].Sub(at[p])
			parts[p] = append(parts[p], s.parts[p])
		}
		splits = append(splits, s)
	}
	w := &ActionWaits{Matched: len(splits), ToTask: latency(parts[0], 0, 0), Queued: latency(parts[1], 0, 0),
		Worker: latency(parts[2], 0, 0), ToAPI: latency(parts[3], 0, 0), Result: latency(parts[4], 0, 0), AfterUpdate: latency(parts[5], 0, 0)}
	if len(splits) == 0 {
		return w
	}
	slices.SortFunc(splits, func(x, y split) int { return cmp.Compare(y.total, x.total) })
	tail := splits[:max(1, len(splits)/100)]
	for _, s := range tail {
		for p := range s.parts {
			w.SlowestMs[p] += float64(s.parts[p].Microseconds()) / 1000 / float64(len(tail))
		}
	}
	return w
}

// carrierOf is the carrier of a's update among a run's, if the API's
// timing came with a's answer.
func carrierOf(cs []carrier, a action) (carrier, bool) {
	if a.completed.IsZero() {
		return carrier{}, false
	}
	var found []carrier
	for _, c := range cs {
		if !c.accepted.Before(a.sent) && !c.completed.After(a.back) {
			found = append(found, c)
		}
	}
	if len(found) == 0 {
		return carrier{}, false
	}
	// The bench's estimate of when the API heard the acceptance leaves out
	// the request's way to the API: when no update falls before it, the
	// first in flight is the one.
	for i := len(found) - 1; i >= 0; i-- {
		if !found[i].accepted.After(a.accepted) {
			return found[i], true
		}
	}
	return found[0], true
}

// carriers reads the updates of an incident's runs, the runs it continued
// as new included, in order.
func (b *runner) carriers(ctx context.Context, workflowID string) ([]carrier, error) {
	var runs [][]*historypb.HistoryEvent
	for runID, more := "", true; more; {
		var events []*historypb.HistoryEvent
		it := b.env.Temporal.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				return nil, err
			}
			events = append(events, e)
		}
		runs = append(runs, events)
		runID = ""
		if len(events) > 0 {
			runID = events[0].GetWorkflowExecutionStartedEventAttributes().GetContinuedExecutionRunId()
		}
		more = runID != ""
	}
	var out []carrier
	for i := len(runs) - 1; i >= 0; i-- {
		out = append(out, carriersIn(runs[i])...)
	}
	return out, nil
}

// carriersIn reads the updates of one run's history, in order.
func carriersIn(events []*historypb.HistoryEvent) []carrier {
	var (
		out                               []carrier
		scheduled, started, taskCompleted time.Time
		pending                           = map[string]int{} // update ID → its carrier
	)
	for _, e := range events {
		t := e.GetEventTime().AsTime()
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
			scheduled = t
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED:
			started = t
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
			taskCompleted = t
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
			id := e.GetWorkflowExecutionUpdateAcceptedEventAttributes().GetAcceptedRequest().GetMeta().GetUpdateId()
			pending[id] = len(out)
			out = append(out, carrier{scheduled: scheduled, started: started, accepted: taskCompleted, completed: taskCompleted})
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
			id := e.GetWorkflowExecutionUpdateCompletedEventAttributes().GetMeta().GetUpdateId()
			if i, ok := pending[id]; ok {
				out[i].completed = taskCompleted
				delete(pending, id)
			}
		}
	}
	return out
}

func later(t, u time.Time) time.Time {
	if t.After(u) {
		return t
	}
	return u
}

func earlier(t, u time.Time) time.Time {
	if t.Before(u) {
		return t
	}
	return u
}
