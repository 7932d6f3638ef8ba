package api_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow"
)

// Since f889b21 a notification's runs start behind its answer, and "the
// reconciler starts any the API could not": those of a Temporal that was
// away, or of an API stopped after answering (a deploy: Shutdown waits for
// handlers, not for the starts they left). But a pass of the reconciler
// starts at most 100 runs, and it passes every 15 s: the 5,000 incidents
// of a storm wait up to 12 minutes for their runs, and their pages. One
// pass should start every run it finds waiting.
func TestOneReconcilePassStartsABigNotificationsRuns(t *testing.T) {
	s := setup(t)
	ctx := context.Background()
	am := s.service(t, "alertmanager", incidentflow.RoleDeclarer)
	s.temporal.failStarts.Store(true)
	got := results(t, s.do(t, "POST", "/v1/alerts/alertmanager?type=engineering", notification(t, fmt.Sprintf("pass-%d", time.Now().UnixNano()), 150, nil), am...))
	s.temporal.failStarts.Store(false)
	refs := map[string]bool{}
	for _, x := range got {
		refs[x[1]] = true
	}
	require.Equal(t, 150, s.unstarted(t, refs), "recorded while Temporal was away")
	t.Cleanup(func() { s.startAll(t, refs) })
	_, err := s.server.Reconcile(ctx, -time.Minute)
	require.NoError(t, err)
	require.Zero(t, s.unstarted(t, refs), "runs still waiting after a pass of the reconciler")
}

// startAll reconciles until every run of refs has started, so that a test
// leaves no incident for the next to wait on.
func (s *stack) startAll(t *testing.T, refs map[string]bool) {
	t.Helper()
	for s.unstarted(t, refs) > 0 {
		_, err := s.server.Reconcile(context.Background(), -time.Minute)
		require.NoError(t, err)
	}
}
