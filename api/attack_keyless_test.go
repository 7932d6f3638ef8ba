package api_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// A change without an Idempotency-Key that the run did not take within
// the API's 30 s wait, and took after, is answered 503. The answer does
// not tell the caller to resend "with the same Idempotency-Key", a key it
// never sent: it says the run may still take the change and to look at
// the timeline first. The run takes it once.
func TestAttackKeylessChangeAnswered503AfterItsWaitIsNotDoneTwice(t *testing.T) {
	s := setup(t)
	ref := s.declare(t, `{"type":"engineering","title":"Keyless, slow","severity":"minor","fields":{"service":"checkout"}}`).str("ref")
	st := &scriptedTemporal{flakyTemporal: s.temporal, script: []fate{held}, entered: make(chan struct{}), done: make(chan struct{})}
	a := newAttackServer(t, st, s.store)
	first := a.must(t, "POST", "/v1/incidents/"+ref+"/notes", `{"text":"restarted the consumers"}`, s.as(t, "alice")...)
	<-st.done
	require.Equal(t, http.StatusServiceUnavailable, first.status, first.raw)
	msg := first.str("error", "message")
	require.Contains(t, msg, "it may still take it: look at the incident's timeline before sending it again")
	require.NotContains(t, msg, "same Idempotency-Key")
	n, msgs := s.timelineKinds(t, ref, "note")
	require.Equal(t, 1, n, "the run took it once: %v", msgs)
}
