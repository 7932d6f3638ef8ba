package api_test

import (
	"net/http"
	"testing"

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
