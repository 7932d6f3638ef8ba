package api_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/workflows"
)

// historyLimitTemporal starts runs that continue as new at a short
// history, as every run does at DefaultHistoryLimit.
type historyLimitTemporal struct {
	*scriptedTemporal
	limit int
}

func (h *historyLimitTemporal) ExecuteWorkflow(ctx context.Context, o client.StartWorkflowOptions, w any, args ...any) (client.WorkflowRun, error) {
	if in, ok := args[0].(workflows.Input); ok {
		in.HistoryLimit = h.limit
		args = append([]any{in}, args[1:]...)
	}
	return h.scriptedTemporal.ExecuteWorkflow(ctx, o, w, args...)
}

// runID is the current run of the incident's workflow.
func (s *stack) runID(t *testing.T, ref string) string {
	t.Helper()
	d, err := s.temporal.DescribeWorkflowExecution(context.Background(), incidentflow.WorkflowID(ref), "")
	require.NoError(t, err)
	return d.WorkflowExecutionInfo.Execution.RunId
}

// continueAsNew adds notes until the incident's run has continued as new.
func continueAsNew(t *testing.T, s *stack, a *attackServer, ref string) {
	t.Helper()
	before := s.runID(t, ref)
	for i := 0; s.runID(t, ref) == before; i++ {
		require.Less(t, i, 60, "the run did not continue as new")
		r := a.must(t, "POST", "/v1/incidents/"+ref+"/notes", fmt.Sprintf(`{"text":"filler %d"}`, i), s.as(t, "bob")...)
		require.Equal(t, http.StatusOK, r.status, r.raw)
		time.Sleep(100 * time.Millisecond)
	}
}

// An acknowledgement whose answer was lost (503, "retry shortly") is
// resent under its Idempotency-Key, as the API tells its clients to, after
// the run continued as new (as every run does at its history limit): the
// new run does not know the Update ID, and its validator refuses the
// resend as "already acknowledged by alice" — alice's own acknowledgement.
// The API takes that refusal for a withdrawn update and deletes the update's
// events: the acknowledgement, carried out and in the incident's record,
// goes from the timeline.
func TestAttackKeyedResendAfterContinueAsNewKeepsTheTimeline(t *testing.T) {
	s := setup(t)
	st := &scriptedTemporal{flakyTemporal: s.temporal}
	ht := &historyLimitTemporal{scriptedTemporal: st, limit: 40}
	a := newAttackServer(t, ht, s.store)
	decl := a.must(t, "POST", "/v1/incidents", `{"type":"engineering","title":"Lost ack, new run","severity":"minor","fields":{"service":"checkout"}}`, "Authorization", "Bearer "+s.token)
	require.Equal(t, http.StatusCreated, decl.status, decl.raw)
	ref := decl.str("ref")
	require.Eventually(t, func() bool {
		row, err := s.store.Incident(context.Background(), ref)
		return err == nil && row.WorkflowStartedAt != nil
	},
		10*time.Second, 50*time.Millisecond)

	st.mu.Lock()
	st.script = []fate{lost}
	st.mu.Unlock()
	key := uniqueKey("ack-can")
	first := a.must(t, "POST", "/v1/incidents/"+ref+"/acknowledge", `{}`, s.as(t, "alice", "Idempotency-Key", key)...)
	require.Equal(t, http.StatusServiceUnavailable, first.status, first.raw)
	n, _ := s.timelineKinds(t, ref, "acknowledged")
	require.Equal(t, 1, n, "the lost answer's acknowledgement was carried out")

	continueAsNew(t, s, a, ref)

	again := a.must(t, "POST", "/v1/incidents/"+ref+"/acknowledge", `{}`, s.as(t, "alice", "Idempotency-Key", key)...)
	n, msgs := s.timelineKinds(t, ref, "acknowledged")
	require.Equal(t, 1, n, "the resend was answered %d %s, and the timeline's acknowledgements are now %v", again.status, again.raw, msgs)
	require.Equal(t, http.StatusOK, again.status, "the resend of a change carried out gets its outcome: %s", again.raw)
}
