package api_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// A change the run took (its first attempt's answer was lost as
// WorkflowNotReady, and the run carried it out) whose retry meets a rate
// limit is answered 429 "retry in a moment" — an answer that, the code
// says, means the change "is not carried out". A client without an
// Idempotency-Key retries as told: the note is on the timeline twice.
func TestAttackBusyAnswerAfterTheRunTookTheChangeIsNotDoneTwice(t *testing.T) {
	s := setup(t)
	ref := s.declare(t, `{"type":"engineering","title":"Busy after taken","severity":"minor","fields":{"service":"checkout"}}`).str("ref")
	st := &scriptedTemporal{flakyTemporal: s.temporal, script: []fate{doneNotReady, exhausted}}
	a := newAttackServer(t, st, s.store)
	body := `{"text":"failed over to the replica"}`
	first := a.must(t, "POST", "/v1/incidents/"+ref+"/notes", body, s.as(t, "alice")...)
	if first.status == http.StatusTooManyRequests || first.status >= 500 {
		again := a.must(t, "POST", "/v1/incidents/"+ref+"/notes", body, s.as(t, "alice")...)
		require.Equal(t, http.StatusOK, again.status, again.raw)
	}
	n, msgs := s.timelineKinds(t, ref, "note")
	require.Equal(t, 1, n, "first answered %d %s; the note was carried out by the first request and again by its retry: %v", first.status, first.raw, msgs)
}
