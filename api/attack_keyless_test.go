package api_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// A change without an Idempotency-Key that the run did not take within
// the API's 30 s wait, and took after, is answered 503; 5xx is the answer
// to retry (as TestAChangeAnsweredBusyIsNotDoneTwiceByItsRetry holds a
// caller without a key may), and the 503 tells the caller to "send it
// again with the same Idempotency-Key" — a key it never sent. Its retry
// is a second note.
func TestAttackKeylessChangeAnswered503AfterItsWaitIsNotDoneTwice(t *testing.T) {
	s := setup(t)
	ref := s.declare(t, `{"type":"engineering","title":"Keyless, slow","severity":"minor","fields":{"service":"checkout"}}`).str("ref")
	st := &scriptedTemporal{flakyTemporal: s.temporal, script: []fate{held}, entered: make(chan struct{}), done: make(chan struct{})}
	a := newAttackServer(t, st, s.store)
	body := `{"text":"restarted the consumers"}`
	first := a.must(t, "POST", "/v1/incidents/"+ref+"/notes", body, s.as(t, "alice")...)
	<-st.done
	if first.status == http.StatusTooManyRequests || first.status >= 500 {
		again := a.must(t, "POST", "/v1/incidents/"+ref+"/notes", body, s.as(t, "alice")...)
		require.Equal(t, http.StatusOK, again.status, again.raw)
	}
	n, msgs := s.timelineKinds(t, ref, "note")
	require.Equal(t, 1, n, "first answered %d %s; its retry added the note again: %v", first.status, first.raw, msgs)
}
