package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/store"
)

// A live page reloads when Version moves. Withdrawing a refused update's
// event (the recorder wrote it from a workflow task Temporal did not keep)
// deletes a row the page shows and adds a hidden 'withdrawn' row: the count
// of rows, and so the Version, stays put, and the page keeps showing the
// event that is gone. Settling an event over what the recorder wrote (its
// text, its time, its order) changes what the page shows, and the Version
// no more.
func TestAttackVersionMovesWhenAnEventIsWithdrawnOrSettled(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		inc, _, err := s.CreateIncident(ctx, newIncident(mustSaveProcess(t, s), nil))
		require.NoError(t, err)
		at := inc.DeclaredAt.Add(time.Minute)
		version := func() string {
			u, n, err := s.Version(ctx, inc.Ref)
			require.NoError(t, err)
			return fmt.Sprintf("%s/%d", u.Format(time.RFC3339Nano), n)
		}
		refused := "incident-" + inc.Ref + "/update/key-b/"
		phantom := incidentflow.TimelineEvent{At: at, Kind: "status_changed", Message: "Status investigating → fixing", DedupKey: refused + "1", Seq: 3}
		require.NoError(t, s.ApplyChange(ctx, incidentflow.Change{Ref: inc.Ref, At: at, Events: []incidentflow.TimelineEvent{phantom}}))
		shown := version()
		require.NoError(t, s.WithdrawUpdate(ctx, inc.Ref, refused))
		tl, err := s.Timeline(ctx, inc.Ref)
		require.NoError(t, err)
		require.Empty(t, tl, "the event is withdrawn")
		assert.NotEqual(t, shown, version(), "a page showing the withdrawn event is not told it is out of date")

		kept := "incident-" + inc.Ref + "/update/key-a/1"
		wrong := incidentflow.TimelineEvent{At: at, Kind: "fields_changed", Message: "customers_affected 1 → 7", DedupKey: kept, Seq: 4}
		require.NoError(t, s.ApplyChange(ctx, incidentflow.Change{Ref: inc.Ref, At: at, Events: []incidentflow.TimelineEvent{wrong}}))
		shown = version()
		right := wrong
		right.Message, right.At, right.Seq = "customers_affected 3 → 7", at.Add(time.Second), 6
		require.NoError(t, s.SettleEvents(ctx, inc.Ref, []incidentflow.TimelineEvent{right}))
		assert.NotEqual(t, shown, version(), "a page showing the event as the recorder wrote it is not told it was settled otherwise")
	})
}
