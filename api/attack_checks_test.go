package api_test

// Attacks the API withstood.

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A client hanging up while its acknowledgement is with Temporal: the
// acknowledgement is still carried out once, and the resend with the same
// key gets its real outcome (200, acknowledged by alice), not "already
// acknowledged by alice".
func TestAttackHangUpMidUpdateThenResendGetsTheOutcome(t *testing.T) {
	s := setup(t)
	ref := s.declare(t, `{"type":"engineering","title":"Hung up","severity":"minor","fields":{"service":"checkout"}}`).str("ref")
	st := &scriptedTemporal{flakyTemporal: s.temporal, script: []fate{held}, entered: make(chan struct{}), done: make(chan struct{})}
	a := newAttackServer(t, st, s.store)
	key := uniqueKey("hang-up")
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-st.entered; cancel() }()
	_, err := a.do(t, ctx, "POST", "/v1/incidents/"+ref+"/acknowledge", `{}`, s.as(t, "alice", "Idempotency-Key", key)...)
	require.ErrorIs(t, err, context.Canceled)
	<-st.done

	var again response
	require.Eventually(t, func() bool {
		again = a.must(t, "POST", "/v1/incidents/"+ref+"/acknowledge", `{}`, s.as(t, "alice", "Idempotency-Key", key)...)
		return !strings.Contains(again.raw, "still being answered")
	}, 10*time.Second, 100*time.Millisecond)
	require.Equal(t, http.StatusOK, again.status, again.raw)
	n, _ := s.timelineKinds(t, ref, "acknowledged")
	require.Equal(t, 1, n)
	// And a third time, answered from the key.
	third := a.must(t, "POST", "/v1/incidents/"+ref+"/acknowledge", `{}`, s.as(t, "alice", "Idempotency-Key", key)...)
	require.Equal(t, http.StatusOK, third.status, third.raw)
	require.Equal(t, "true", third.header.Get("Idempotent-Replayed"))
}

// Server-Timing is on an action carried out only: never on a refusal, an
// answer to a stranger, an incident someone may not see, a replay.
func TestAttackServerTimingOnlyOnActionsCarriedOut(t *testing.T) {
	s := setup(t)
	ref := s.declare(t, `{"type":"engineering","title":"Timing","severity":"minor","fields":{"service":"checkout"}}`).str("ref")
	secret := declarePrivacy(t, s, "Timing, restricted").str("ref")
	key := uniqueKey("timing")
	ok := s.do(t, "POST", "/v1/incidents/"+ref+"/acknowledge", `{}`, s.as(t, "alice", "Idempotency-Key", key)...)
	require.Equal(t, http.StatusOK, ok.status, ok.raw)
	require.NotEmpty(t, ok.header.Get("Server-Timing"))
	for _, c := range []struct {
		name   string
		status int
		r      response
	}{
		{"replay", 200, s.do(t, "POST", "/v1/incidents/"+ref+"/acknowledge", `{}`, s.as(t, "alice", "Idempotency-Key", key)...)},
		{"refused", 409, s.do(t, "POST", "/v1/incidents/"+ref+"/acknowledge", `{}`, s.as(t, "bob")...)},
		{"invalid", 422, s.do(t, "POST", "/v1/incidents/"+ref+"/status", `{"status":"gone"}`, s.as(t, "bob")...)},
		{"malformed", 400, s.do(t, "POST", "/v1/incidents/"+ref+"/status", `{"status":`, s.as(t, "bob")...)},
		{"stranger", 401, s.do(t, "POST", "/v1/incidents/"+ref+"/notes", `{"text":"x"}`, "Authorization", "Bearer nope")},
		{"restricted", 404, s.do(t, "POST", "/v1/incidents/"+secret+"/notes", `{"text":"x"}`, s.as(t, "bob")...)},
		{"no such", 404, s.do(t, "POST", "/v1/incidents/INC-999999999999/notes", `{"text":"x"}`, s.as(t, "bob")...)},
		{"crafted", 404, s.do(t, "POST", "/v1/incidents/INC-1%0a/notes", `{"text":"x"}`, s.as(t, "bob")...)},
		{"task", 404, s.do(t, "POST", "/v1/tasks/"+secret+"-T1/complete", `{}`, s.as(t, "bob")...)},
		{"big key", 400, s.do(t, "POST", "/v1/incidents/"+ref+"/notes", `{"text":"x"}`, s.as(t, "bob", "Idempotency-Key", strings.Repeat("k", 300))...)},
		{"big body", 400, s.do(t, "POST", "/v1/incidents/"+ref+"/notes", `{"text":"`+strings.Repeat("x", 2<<20)+`"}`, s.as(t, "bob", "Idempotency-Key", key+"-big")...)},
	} {
		require.Equal(t, c.status, c.r.status, "%s: %s", c.name, c.r.raw)
		require.Empty(t, c.r.header.Get("Server-Timing"), "%s (%d)", c.name, c.r.status)
	}
}
