package api_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// A change sent without a key whose answer Temporal lost after the run
// carried it out (Unavailable: a connection reset, a frontend going away)
// is answered 503 "Temporal could not deliver the update; retry shortly".
// It was delivered, and carried out: the client does as told, and the
// note is on the timeline twice. The 503 must say, as the others do for a
// change without a key, to look at the timeline before sending it again.
// (The SDK retries an Unavailable itself until the wait is over; the same
// answer comes for any error it does not retry after the server took the
// update — an Internal from a server that says it is not to be retried.)
func TestAttackKeylessChangeWhoseAnswerWasLostIsNotInvitedAgain(t *testing.T) {
	s := setup(t)
	ref := s.declare(t, `{"type":"engineering","title":"Lost, keyless","severity":"minor","fields":{"service":"checkout"}}`).str("ref")
	st := &scriptedTemporal{flakyTemporal: s.temporal, script: []fate{lost}}
	a := newAttackServer(t, st, s.store)
	first := a.must(t, "POST", "/v1/incidents/"+ref+"/notes", `{"text":"flushed the CDN"}`, s.as(t, "alice")...)
	require.Equal(t, http.StatusServiceUnavailable, first.status, first.raw)
	n, _ := s.timelineKinds(t, ref, "note")
	require.Equal(t, 1, n, "the note was carried out")
	require.Contains(t, first.str("error", "message"), "look at the incident's timeline before sending it again")
}
