package api_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow"
)

// The answer to a notification says how many of its runs were still
// starting (runs_starting, "absent: none"), but a start that failed
// counts as done: with Temporal down, every incident is recorded and no
// run started, and the answer is a plain 200 without runs_starting, which
// reads as "every run has started". A person's declaration in the same
// case is answered 202 with started false. The answer must say that runs
// are left to the reconciler.
func TestAlertAnswerSaysWhenRunsDidNotStart(t *testing.T) {
	s := setup(t)
	am := s.service(t, "alertmanager", incidentflow.RoleDeclarer)
	s.temporal.failStarts.Store(true)
	r := s.do(t, "POST", "/v1/alerts/alertmanager?type=engineering", notification(t, fmt.Sprintf("unstarted-%d", time.Now().UnixNano()), 3, nil), am...)
	s.temporal.failStarts.Store(false)
	got := results(t, r)
	refs := map[string]bool{}
	for _, x := range got {
		require.Equal(t, "declared", x[0])
		refs[x[1]] = true
	}
	require.Equal(t, 3, s.unstarted(t, refs), "no run started")
	t.Cleanup(func() { s.startAll(t, refs) })
	left := 0.0
	for _, key := range []string{"runs_starting", "runs_not_started"} {
		if n, ok := r.body[key].(float64); ok {
			left += n
		}
	}
	require.Equal(t, 3.0, left, "the answer says every run has started, when none has: %s", r.raw)
}
