package api_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// A follow-up's completion the run carried out, whose answer was lost
// (503), is sent again with the same Idempotency-Key, as the 503 says. The
// resend is the same update and should get its real outcome (200, the
// task done); it is answered 409 "already done by alice" — by the caller
// itself — and that refusal is kept as the key's answer.
func TestAttackLostTaskCompletionResentWithItsKeyIsAnsweredDone(t *testing.T) {
	s := setup(t)
	ref, task := s.resolvedWithWriteUp(t, "Lost completion")

	st := &scriptedTemporal{flakyTemporal: s.temporal, script: []fate{lost}}
	a := newAttackServer(t, st, s.store)
	key := uniqueKey("lost-completion")
	first := a.must(t, "POST", "/v1/tasks/"+task+"/complete", `{"note":"published"}`, s.as(t, "alice", "Idempotency-Key", key)...)
	require.Equal(t, http.StatusServiceUnavailable, first.status, first.raw)
	again := a.must(t, "POST", "/v1/tasks/"+task+"/complete", `{"note":"published"}`, s.as(t, "alice", "Idempotency-Key", key)...)
	require.Equal(t, http.StatusOK, again.status, "the resend of a completion carried out: %s", again.raw)
	n, _ := s.timelineKinds(t, ref, "task_done")
	require.Equal(t, 1, n)
}
