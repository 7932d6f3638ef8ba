package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A follow-up's completion the run carried out, whose answer was lost
// (503), is sent again with the same Idempotency-Key, as the 503 says. The
// resend is the same update and should get its real outcome (200, the
// task done); it is answered 409 "already done by alice" — by the caller
// itself — and that refusal is kept as the key's answer.
func TestAttackLostTaskCompletionResentWithItsKeyIsAnsweredDone(t *testing.T) {
	s := setup(t)
	ref := s.declare(t, `{"type":"engineering","title":"Lost completion","severity":"major","fields":{"service":"search"}}`, s.as(t, "carol")...).str("ref")
	require.Equal(t, http.StatusOK, s.do(t, "POST", "/v1/incidents/"+ref+"/acknowledge", `{}`, s.as(t, "carol")...).status)
	require.Equal(t, http.StatusOK, s.do(t, "POST", "/v1/incidents/"+ref+"/status", `{"status":"resolved"}`, s.as(t, "carol")...).status)
	task := ref + "-T1"
	require.Eventually(t, func() bool {
		r := s.do(t, "GET", "/v1/incidents/"+ref+"/tasks", "")
		return r.status == http.StatusOK && strings.Contains(r.raw, task)
	}, 10*time.Second, 50*time.Millisecond, "the write-up task")

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
