package api_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// A note the run did not take within the API's 30 s wait, and took after,
// is answered 503 "it may still take it: send it again with the same
// Idempotency-Key to have it done once". The client sends the same key
// with another body (a typo fixed, a field added): the idempotency
// contract says that is 422 ("already used for another request"), and the
// first note, already on the timeline, must not be joined by a second.
// The 503 forgot the key, so the new body is taken as a new request under
// a new Update ID: both notes are carried out.
func TestAttackSameKeyWithAnotherBodyAfterA503IsRefused(t *testing.T) {
	s := setup(t)
	ref := s.declare(t, `{"type":"engineering","title":"Same key, other body","severity":"minor","fields":{"service":"checkout"}}`).str("ref")
	st := &scriptedTemporal{flakyTemporal: s.temporal, script: []fate{held}, entered: make(chan struct{}), done: make(chan struct{})}
	a := newAttackServer(t, st, s.store)
	key := uniqueKey("other-body")
	first := a.must(t, "POST", "/v1/incidents/"+ref+"/notes", `{"text":"rolled back deploy 41"}`, s.as(t, "alice", "Idempotency-Key", key)...)
	require.Equal(t, http.StatusServiceUnavailable, first.status, first.raw)
	require.Contains(t, first.str("error", "message"), "send it again with the same Idempotency-Key")
	<-st.done
	n, _ := s.timelineKinds(t, ref, "note")
	require.Equal(t, 1, n, "the lost answer's note was carried out")

	second := a.must(t, "POST", "/v1/incidents/"+ref+"/notes", `{"text":"rolled back deploy 42"}`, s.as(t, "alice", "Idempotency-Key", key)...)
	n, msgs := s.timelineKinds(t, ref, "note")
	require.Equal(t, http.StatusUnprocessableEntity, second.status, "the same key with another body was answered %d %s; notes now %v", second.status, second.raw, msgs)
	require.Equal(t, 1, n, "%v", msgs)
}
