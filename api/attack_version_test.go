package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow"
)

// The web app's live incident page reloads when the incident's Version
// moves; the Version counts the incident's timeline rows. A refused change
// ("already acknowledged") shows nothing new, but the API withdraws its
// update, adding a row of kind 'withdrawn' that the timeline never shows:
// every refusal moves the Version, and every open page of the incident
// reloads. A responder (or a script) repeating a refused change makes the
// pages of everyone watching reload, once a request, and grows the table.
func TestAttackRefusedChangesLeaveTheVersionAlone(t *testing.T) {
	s := setup(t)
	ref := s.declare(t, `{"type":"engineering","title":"Refusals","severity":"minor","fields":{"service":"checkout"}}`).str("ref")
	s.requireRunning(t, ref)
	ack := s.do(t, "POST", "/v1/incidents/"+ref+"/acknowledge", `{}`, s.as(t, "alice")...)
	require.Equal(t, http.StatusOK, ack.status, ack.raw)
	ctx := context.Background()
	admin := incidentflow.Principal{Kind: incidentflow.ServicePrincipal, ID: "tests", Role: incidentflow.RoleAdmin}
	version := func() string {
		v, err := s.server.Version(ctx, admin, ref)
		require.NoError(t, err)
		return v
	}
	// The run settles (its state published, its steps waiting).
	var before string
	require.Eventually(t, func() bool {
		v := version()
		time.Sleep(300 * time.Millisecond)
		before = version()
		return v == before
	}, 15*time.Second, 10*time.Millisecond)
	shown := func() int {
		tl := s.do(t, "GET", "/v1/incidents/"+ref+"/timeline", "")
		require.Equal(t, http.StatusOK, tl.status, tl.raw)
		return len(tl.body["events"].([]any))
	}
	events := shown()
	rows := func() int {
		n, err := s.store.CountEvents(ctx, "engineering", "withdrawn")
		require.NoError(t, err)
		return n
	}
	markers := rows()
	for range 5 {
		r := s.do(t, "POST", "/v1/incidents/"+ref+"/acknowledge", `{}`, s.as(t, "bob")...)
		require.Equal(t, http.StatusConflict, r.status, r.raw)
	}
	require.Equal(t, events, shown(), "the timeline shows nothing new")
	require.Equal(t, before, version(), "five refusals moved the Version (and added %d hidden rows)", rows()-markers)
}
