package api_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// A change the run took (its first attempt's answer was lost as
// WorkflowNotReady, and the run carried it out) whose retry meets a rate
// limit is not answered 429 "retry in a moment", which would say it was
// not carried out: the answer says the run may still take it, and how to
// send it again without doing it twice. The note is on the timeline once.
func TestAttackBusyAnswerAfterTheRunTookTheChangeIsNotDoneTwice(t *testing.T) {
	s := setup(t)
	ref := s.declare(t, `{"type":"engineering","title":"Busy after taken","severity":"minor","fields":{"service":"checkout"}}`).str("ref")
	st := &scriptedTemporal{flakyTemporal: s.temporal, script: []fate{doneNotReady, exhausted}}
	a := newAttackServer(t, st, s.store)
	first := a.must(t, "POST", "/v1/incidents/"+ref+"/notes", `{"text":"failed over to the replica"}`, s.as(t, "alice")...)
	require.Equal(t, http.StatusServiceUnavailable, first.status, first.raw)
	require.Contains(t, first.str("error", "message"), "it may still take it: look at the incident's timeline before sending it again")
	n, msgs := s.timelineKinds(t, ref, "note")
	require.Equal(t, 1, n, "carried out by the first attempt, once: %v", msgs)

	// With a key, sending it again as told is safe.
	st.mu.Lock()
	st.script = []fate{doneNotReady, exhausted}
	st.mu.Unlock()
	key := uniqueKey("busy")
	keyed := a.must(t, "POST", "/v1/incidents/"+ref+"/notes", `{"text":"promoted the replica"}`, s.as(t, "alice", "Idempotency-Key", key)...)
	require.Equal(t, http.StatusServiceUnavailable, keyed.status, keyed.raw)
	require.Contains(t, keyed.str("error", "message"), "send it again with the same Idempotency-Key")
	again := a.must(t, "POST", "/v1/incidents/"+ref+"/notes", `{"text":"promoted the replica"}`, s.as(t, "alice", "Idempotency-Key", key)...)
	require.Equal(t, http.StatusOK, again.status, again.raw)
	n, msgs = s.timelineKinds(t, ref, "note")
	require.Equal(t, 2, n, "each note once: %v", msgs)
}
