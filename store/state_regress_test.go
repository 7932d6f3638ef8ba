package store_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/store"
)

// The version a live page watches moves whenever what the page shows moves:
// a run's state written on its own, in the same workflow task (so at the
// same instant) as the change before it, is such a move. Otherwise a page
// that read the state between the two writes is never told to refresh.
func TestVersionMovesWithTheRecordedState(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		inc, _, err := s.CreateIncident(ctx, newIncident(mustSaveProcess(t, s), nil))
		require.NoError(t, err)
		at := inc.DeclaredAt
		require.NoError(t, s.ApplyChange(ctx, incidentflow.Change{Ref: inc.Ref, At: at, Status: "investigating",
			Events: []incidentflow.TimelineEvent{{At: at, Kind: "approved", Message: "approved", DedupKey: inc.Ref + "/1"}},
			State:  json.RawMessage(`{"approvals":[{"step":"Notice","by":"carol"}],"active":[{"step":"Notice"}]}`), StateVersion: 1}))
		seen, last, err := s.Version(ctx, inc.Ref)
		require.NoError(t, err)
		require.NoError(t, s.ApplyChange(ctx, incidentflow.Change{Ref: inc.Ref, At: at, Status: "investigating",
			State: json.RawMessage(`{"approvals":[],"active":[]}`), StateVersion: 2}))
		now, again, err := s.Version(ctx, inc.Ref)
		require.NoError(t, err)
		require.False(t, seen.Equal(now) && last == again, "the state moved and the version did not: a page that read it before is never refreshed")

		// A state published on its own moves it too; an older one, arriving
		// late (a retried write), changes nothing, and a state of no incident
		// the store has (a simulation's) does not fail the others.
		require.NoError(t, s.WriteRunStates(ctx, []store.RunState{{Ref: inc.Ref, Version: 3, At: at, State: json.RawMessage(`{"v":3}`)}}))
		_, third, err := s.Version(ctx, inc.Ref)
		require.NoError(t, err)
		require.NotEqual(t, again, third)
		require.NoError(t, s.WriteRunStates(ctx, []store.RunState{{Ref: inc.Ref, Version: 2, At: at, State: json.RawMessage(`{"v":2}`)}, {Ref: "INC-NONE", Version: 9, At: at, State: json.RawMessage(`{}`)}}))
		got, _, err := s.RunState(ctx, inc.Ref)
		require.NoError(t, err)
		require.JSONEq(t, `{"v":3}`, string(got), "an older state overwrote a newer one")
	})
}
