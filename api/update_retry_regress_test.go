package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A change the run carried out, whose answer was lost (WorkflowNotReady),
// is sent again as the same update, without an Idempotency-Key too: the
// run takes it once, and the person's note is on the timeline once.
func TestARetriedUpdateIsCarriedOutOnce(t *testing.T) {
	s := setup(t)
	ref := s.declare(t, `{"type":"engineering","title":"Retried note","severity":"minor","fields":{"service":"checkout"}}`).str("ref")
	s.temporal.notReadyOnce.Store(true)
	note := s.do(t, "POST", "/v1/incidents/"+ref+"/notes", `{"text":"the disk is full"}`, s.as(t, "alice")...)
	require.Equal(t, http.StatusOK, note.status, note.raw)
	require.False(t, s.temporal.notReadyOnce.Load(), "the lost answer was never injected")
	notes := 0
	for _, e := range s.do(t, "GET", "/v1/incidents/"+ref+"/timeline", "").body["events"].([]any) {
		if e.(map[string]any)["kind"] == "note" {
			notes++
		}
	}
	require.Equal(t, 1, notes, "the note was carried out more than once")
}

// A change the run was slow to admit is answered 429 "retry in a moment",
// yet Temporal keeps the update and carries it out when the run gets to
// it. A caller without an Idempotency-Key that retries as told (429 and
// 5xx are the answers to retry) must still find its note once.
func TestAChangeAnsweredBusyIsNotDoneTwiceByItsRetry(t *testing.T) {
	s := setup(t)
	ref := s.declare(t, `{"type":"engineering","title":"Busy note","severity":"minor","fields":{"service":"checkout"}}`).str("ref")
	late := make(chan struct{})
	s.temporal.admitLate.Store(&late)
	body := `{"text":"rolled back the deploy"}`
	first := s.do(t, "POST", "/v1/incidents/"+ref+"/notes", body, s.as(t, "alice")...)
	require.Nil(t, s.temporal.admitLate.Load(), "the slow admission was never injected")
	if first.status == http.StatusTooManyRequests || first.status >= 500 {
		again := s.do(t, "POST", "/v1/incidents/"+ref+"/notes", body, s.as(t, "alice")...)
		require.Equal(t, http.StatusOK, again.status, again.raw)
	}
	select {
	case <-late:
	case <-time.After(30 * time.Second):
		t.Fatal("the late update was never carried out")
	}
	notes := 0
	for _, e := range s.do(t, "GET", "/v1/incidents/"+ref+"/timeline", "").body["events"].([]any) {
		if e.(map[string]any)["kind"] == "note" {
			notes++
		}
	}
	require.Equal(t, 1, notes, "answered %d, the note was carried out by the late update and again by the retry", first.status)
}
