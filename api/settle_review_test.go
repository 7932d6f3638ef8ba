package api_test

// Review of settled and withdrawn update events (6583e59, b2541e6): an
// update's events the run kept must stay on the timeline.

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/api"
	"github.com/incidentflow/incidentflow/workflows"
)

// Temporal keeps nothing of an update its validator rejected: the same
// Update ID sent again later is validated afresh, and may be carried out.
// The web app gives a form's action one ID however often it is sent (its
// nonce), an action link one ID for good ("what did not happen may be
// tried again with the same link"). A change refused once and carried out
// when sent again under its ID must be on the timeline; the withdrawal of
// the refusal keeps its events out of the store for good.
func TestSettledUpdateRefusedThenTakenUnderItsIDIsOnTheTimeline(t *testing.T) {
	s := setup(t)
	ref := s.declare(t, `{"type":"engineering","title":"Refused then taken","severity":"major","fields":{"service":"search"}}`, s.as(t, "carol")...).str("ref")
	ctx := context.Background()
	alice := incidentflow.Principal{Kind: incidentflow.PersonPrincipal, ID: "alice", Role: incidentflow.RoleResponder}
	form := "form-" + uniqueKey("critical") // the same form, sent again
	_, err := s.server.Act(ctx, alice, ref, api.SeverityRequest{Severity: "critical"}, uniqueKey("other"))
	require.NoError(t, err)
	_, err = s.server.Act(ctx, alice, ref, api.SeverityRequest{Severity: "critical"}, form)
	require.Equal(t, incidentflow.ECONFLICT, incidentflow.ErrorCode(err), "already critical: %v", err)
	_, err = s.server.Act(ctx, alice, ref, api.SeverityRequest{Severity: "major"}, uniqueKey("other"))
	require.NoError(t, err)
	st, err := s.server.Act(ctx, alice, ref, api.SeverityRequest{Severity: "critical"}, form)
	require.NoError(t, err, "the form sent again is carried out")
	require.Equal(t, "critical", st.Severity)
	n, msgs := s.timelineKinds(t, ref, "severity_changed")
	require.Equal(t, 3, n, "major → critical, critical → major, major → critical: %v", msgs)
}

// refusingNextRun carries out the first update and loses its answer (a
// connection reset), then answers the next as the incident's next run
// would after continuing as new: it knows the Update ID from the run
// before, and refuses it as carried out already (RepeatedError).
type refusingNextRun struct {
	*flakyTemporal
	calls int
}

func (r *refusingNextRun) UpdateWorkflow(ctx context.Context, o client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	r.calls++
	if r.calls == 1 {
		h, err := r.flakyTemporal.UpdateWorkflow(ctx, o)
		if err == nil {
			err = h.Get(ctx, nil)
		}
		if err != nil {
			return nil, err
		}
		return nil, serviceerror.NewUnavailable("connection reset by peer")
	}
	return nil, temporal.NewApplicationError("incident already took this change", workflows.RepeatedError)
}

// A completion the run carried out whose answer was lost is resent under
// its key (as the 503 says) after the run continued as new: the new run
// refuses it, the task being done. The task_done event the first run kept
// must not be withdrawn.
func TestSettledCompletionIsNotWithdrawnByTheNextRunsRefusal(t *testing.T) {
	s := setup(t)
	ref, task := s.resolvedWithWriteUp(t, "Completion across runs")

	a := newAttackServer(t, &refusingNextRun{flakyTemporal: s.temporal}, s.store)
	key := uniqueKey("completion-across-runs")
	first := a.must(t, "POST", "/v1/tasks/"+task+"/complete", `{"note":"published"}`, s.as(t, "alice", "Idempotency-Key", key)...)
	require.Equal(t, http.StatusServiceUnavailable, first.status, first.raw)
	n, _ := s.timelineKinds(t, ref, "task_done")
	require.Equal(t, 1, n, "the first run did it")
	a.must(t, "POST", "/v1/tasks/"+task+"/complete", `{"note":"published"}`, s.as(t, "alice", "Idempotency-Key", key)...)
	n, _ = s.timelineKinds(t, ref, "task_done")
	require.Equal(t, 1, n, "the completion the first run kept is still on the timeline")
}
