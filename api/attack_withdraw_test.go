package api_test

// Attacks on withdrawing an update's timeline events: an update ID that
// is refused once and then carried out.

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/incidentflow/incidentflow/workflows"
)

// busyOnceTemporal refuses the next update as a run whose history is too
// long does (its validator's BusyError, "retry in a minute"), then passes.
type busyOnceTemporal struct {
	*flakyTemporal
	busy atomic.Bool
}

func (b *busyOnceTemporal) UpdateWorkflow(ctx context.Context, o client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	if b.busy.CompareAndSwap(true, false) {
		return nil, temporal.NewApplicationError("incident is busy: its run's history is 40000 events long and it takes no more changes until it has continued in a new run; retry in a minute", workflows.BusyError)
	}
	return b.flakyTemporal.UpdateWorkflow(ctx, o)
}

// A run too busy to take a note refuses it (429, "retry in a minute"), and
// the API withdraws the update's events: a row of kind 'withdrawn' under
// the update's prefix, which no later write of that update gets past. The
// client does as told and sends the note again under its Idempotency-Key:
// the same request, so the same Update ID. The run takes it (200, the note
// is in the answer's state), but its event is never on the timeline —
// neither the recorder's write nor the API's settling gets past the marker.
func TestAttackBusyThenRetriedKeyedNoteIsOnTheTimeline(t *testing.T) {
	s := setup(t)
	ref := s.declare(t, `{"type":"engineering","title":"Busy, then taken","severity":"minor","fields":{"service":"checkout"}}`).str("ref")
	s.requireRunning(t, ref)
	bt := &busyOnceTemporal{flakyTemporal: s.temporal}
	bt.busy.Store(true)
	a := newAttackServer(t, bt, s.store)
	key := uniqueKey("busy-retry")
	body := `{"text":"drained the eu-west pool"}`
	first := a.must(t, "POST", "/v1/incidents/"+ref+"/notes", body, s.as(t, "alice", "Idempotency-Key", key)...)
	require.Equal(t, http.StatusTooManyRequests, first.status, first.raw)

	again := a.must(t, "POST", "/v1/incidents/"+ref+"/notes", body, s.as(t, "alice", "Idempotency-Key", key)...)
	require.Equal(t, http.StatusOK, again.status, again.raw)
	require.Contains(t, again.raw, "drained the eu-west pool", "the run took the note")
	time.Sleep(500 * time.Millisecond) // nothing more is coming: the update has answered
	n, msgs := s.timelineKinds(t, ref, "note")
	require.Equal(t, 1, n, "answered 200, with the note in its state, but the timeline has notes %v", msgs)
}
