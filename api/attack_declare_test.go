package api_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/store"
)

// hangUpStore is the stack's store whose CreateIncident, once the incident
// is recorded, returns only after the caller has hung up: a client whose
// timeout passed while the database was slow to commit.
type hangUpStore struct {
	*store.Store
	recorded chan string
}

func (h *hangUpStore) CreateIncident(ctx context.Context, inc incidentflow.Incident) (incidentflow.Incident, bool, error) {
	stored, created, err := h.Store.CreateIncident(context.WithoutCancel(ctx), inc)
	if err == nil {
		h.recorded <- stored.Ref
		<-ctx.Done()
	}
	return stored, created, err
}

// "A caller hanging up does not cut the start short: the incident is
// recorded" (declare.go). A caller hanging up as its incident is recorded
// leaves it unstarted — its process version is read with the caller's
// cancelled context before the start — until the reconciler's next pass
// (15 to 30 s in dev and api): nobody is paged meanwhile.
func TestAttackHangUpAsTheIncidentIsRecordedStillStartsItsRun(t *testing.T) {
	s := setup(t)
	h := &hangUpStore{Store: s.store, recorded: make(chan string, 1)}
	a := newAttackServer(t, s.temporal, h)
	ctx, cancel := context.WithCancel(context.Background())
	refs := make(chan string, 1)
	go func() { ref := <-h.recorded; refs <- ref; cancel() }()
	_, err := a.do(t, ctx, "POST", "/v1/incidents", `{"type":"engineering","title":"Hung up as recorded","severity":"critical","fields":{"service":"checkout"}}`,
		s.as(t, "carol")...)
	require.True(t, errors.Is(err, context.Canceled), "%v", err)
	ref := <-refs
	started := func() bool {
		inc, err := s.store.Incident(context.Background(), ref)
		return err == nil && inc.WorkflowStartedAt != nil
	}
	if !assert.Eventually(t, started, 5*time.Second, 100*time.Millisecond) {
		_, err := s.temporal.DescribeWorkflowExecution(context.Background(), incidentflow.WorkflowID(ref), "")
		t.Fatalf("%s is recorded, and after 5 s its run has not started (no reconciler runs here); Temporal has no run: %v", ref, err)
	}
}
