package api_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// As TestAttackSameKeyWithAnotherBodyAfterA503IsRefused, with the answer
// lost on the way back (503): the client sends the same note again with
// the same key, as the 503 told it, its JSON written another way (another
// library, or a person retrying with curl). The request means the same;
// it is done twice.
func TestAttackSameNoteReformattedAfterA503IsDoneOnce(t *testing.T) {
	s := setup(t)
	ref := s.declare(t, `{"type":"engineering","title":"Same note, other bytes","severity":"minor","fields":{"service":"checkout"}}`).str("ref")
	st := &scriptedTemporal{flakyTemporal: s.temporal, script: []fate{lost}}
	a := newAttackServer(t, st, s.store)
	key := uniqueKey("reformatted")
	first := a.must(t, "POST", "/v1/incidents/"+ref+"/notes", `{"text":"paged the DBA"}`, s.as(t, "alice", "Idempotency-Key", key)...)
	require.Equal(t, http.StatusServiceUnavailable, first.status, first.raw)
	require.Contains(t, first.str("error", "message"), "retry")
	again := a.must(t, "POST", "/v1/incidents/"+ref+"/notes", "{\n  \"text\": \"paged the DBA\"\n}\n", s.as(t, "alice", "Idempotency-Key", key)...)
	require.Contains(t, []int{http.StatusOK, http.StatusUnprocessableEntity}, again.status, again.raw)
	n, msgs := s.timelineKinds(t, ref, "note")
	require.Equal(t, 1, n, "one note, sent twice under one key (answered %d): %v", again.status, msgs)
}
