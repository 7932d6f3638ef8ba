package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// An incident's state is read from what its run recorded, so a read never
// waits on a busy worker: it asks the run nothing, shows what the last
// action did at once, and says when the state was recorded. Asked live, the
// run answers or the read says why not.
func TestIncidentStateIsReadFromTheStore(t *testing.T) {
	s := setup(t)
	ref := s.declare(t, `{"type":"engineering","title":"Reads from the record","severity":"critical","fields":{"service":"search"}}`, s.as(t, "carol")...).str("ref")
	ack := s.do(t, "POST", "/v1/incidents/"+ref+"/acknowledge", `{}`, s.as(t, "alice")...)
	require.Equal(t, http.StatusOK, ack.status, ack.raw)

	s.temporal.failQueries.Store(true)
	defer s.temporal.failQueries.Store(false)
	asked := s.temporal.queries.Load()
	got := s.do(t, "GET", "/v1/incidents/"+ref, "")
	require.Equal(t, http.StatusOK, got.status, got.raw)
	require.Equal(t, asked, s.temporal.queries.Load(), "the read asked the run")
	require.Empty(t, got.str("state_error"))
	require.Equal(t, "alice", got.str("state", "acknowledged", "by"), "the acknowledgement is in the recorded state at once")
	at, err := time.Parse(time.RFC3339Nano, got.str("state_at"))
	require.NoError(t, err, "state_at: %q", got.str("state_at"))
	require.WithinDuration(t, time.Now(), at, time.Minute)
	require.NotContains(t, got.body["state"], "task_count", "the run's bookkeeping is not shown")

	live := s.do(t, "GET", "/v1/incidents/"+ref+"?live=true", "")
	require.Equal(t, http.StatusOK, live.status, live.raw)
	require.Greater(t, s.temporal.queries.Load(), asked, "a live read asks the run")
	require.Equal(t, "the live state is unavailable right now (no worker answered)", live.str("state_error"))
	require.Nil(t, live.body["state"])
	require.Empty(t, live.str("state_at"))

	s.temporal.failQueries.Store(false)
	live = s.do(t, "GET", "/v1/incidents/"+ref+"?live=true", "")
	require.Equal(t, "alice", live.str("state", "acknowledged", "by"))
	require.Empty(t, live.str("state_at"), "a live state is now")

	// Resolving moves the recorded state too, before the answer comes.
	res := s.do(t, "POST", "/v1/incidents/"+ref+"/status", `{"status":"resolved"}`, s.as(t, "alice")...)
	require.Equal(t, http.StatusOK, res.status, res.raw)
	require.Equal(t, "resolved", s.do(t, "GET", "/v1/incidents/"+ref, "").str("state", "status"))
}
