package store_test

// Review of settled and withdrawn update events (6583e59): what a kept
// answer gives must stand, whatever was withdrawn or written before it.

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/store"
)

func settleFixture(t *testing.T, s *store.Store) (context.Context, incidentflow.Incident, time.Time, func() []string) {
	t.Helper()
	ctx := context.Background()
	inc, _, err := s.CreateIncident(ctx, newIncident(mustSaveProcess(t, s), nil))
	require.NoError(t, err)
	messages := func() []string {
		tl, err := s.Timeline(ctx, inc.Ref)
		require.NoError(t, err)
		var out []string
		for _, e := range tl {
			if e.Kind != "declared" {
				out = append(out, e.Message)
			}
		}
		return out
	}
	return ctx, inc, inc.DeclaredAt.Add(time.Minute), messages
}

// The same Update ID refused and later taken: Temporal keeps nothing of an
// update its validator rejected, so the ID may be sent again (a web form
// sent again with its nonce, an action link pressed again, a keyed 429
// retried after the run continued as new) and be carried out. Its events,
// settled from the kept answer, must be on the timeline; the withdrawal
// marker of the refusal blocks them for good.
func TestSettledEventsOfAnUpdateTakenAfterItWasRefused(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *store.Store) {
		ctx, inc, at, messages := settleFixture(t, s)
		prefix := "incident-" + inc.Ref + "/update/link-n1/"
		require.NoError(t, s.WithdrawUpdate(ctx, inc.Ref, prefix)) // the first press, refused
		kept := incidentflow.TimelineEvent{At: at, Kind: "approved", Message: "Go-live approved by bob, the commander", DedupKey: prefix + "1", Seq: 4}
		require.NoError(t, s.ApplyChange(ctx, incidentflow.Change{Ref: inc.Ref, At: at, Events: []incidentflow.TimelineEvent{kept}}))
		require.NoError(t, s.SettleEvents(ctx, inc.Ref, []incidentflow.TimelineEvent{kept}))
		require.Equal(t, []string{kept.Message}, messages(), "the approval the run kept is on the timeline")
	})
}

// A settled event is what a kept workflow task made: a refusal of the same
// Update ID afterwards (a later run, after continue-as-new, which knows
// nothing of the ID) does not unmake it.
func TestSettledEventsAreNotWithdrawnByALaterRefusal(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *store.Store) {
		ctx, inc, at, messages := settleFixture(t, s)
		prefix := "incident-" + inc.Ref + "/update/key-c/"
		done := incidentflow.TimelineEvent{At: at, Kind: "task_done", Message: "Follow-up T1 done by alice", DedupKey: prefix + "1", Seq: 5}
		require.NoError(t, s.SettleEvents(ctx, inc.Ref, []incidentflow.TimelineEvent{done}))
		require.NoError(t, s.WithdrawUpdate(ctx, inc.Ref, prefix))
		require.Equal(t, []string{done.Message}, messages())
	})
}

// A workflow task Temporal did not keep may have made more events for an
// update than the kept one did (an assignment that, taken before a task
// was done, also moved the task's owner). Settling the update's events as
// its answer gives them leaves none of its rows that the answer lacks.
func TestSettledEventsLeaveNoneOfTheUpdatesPhantomRows(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *store.Store) {
		ctx, inc, at, messages := settleFixture(t, s)
		prefix := "incident-" + inc.Ref + "/update/key-d/"
		ev := func(n, msg string) incidentflow.TimelineEvent {
			return incidentflow.TimelineEvent{At: at, Kind: "role_assigned", Message: msg, DedupKey: prefix + n, Seq: 6}
		}
		phantom := []incidentflow.TimelineEvent{ev("1", "alice is now commander"), ev("2", "Follow-up T1 is now owned by alice")}
		require.NoError(t, s.ApplyChange(ctx, incidentflow.Change{Ref: inc.Ref, At: at, Events: phantom}))
		require.NoError(t, s.SettleEvents(ctx, inc.Ref, []incidentflow.TimelineEvent{ev("1", "alice is now commander")}))
		require.Equal(t, []string{"alice is now commander"}, messages(), "the task was done first in the kept task: its owner never moved")
	})
}

// Withdrawing a phantom event changes the timeline: the incident's
// version, by which live pages know to show it again, moves.
func TestSettledWithdrawalMovesTheVersion(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *store.Store) {
		ctx, inc, at, messages := settleFixture(t, s)
		prefix := "incident-" + inc.Ref + "/update/key-e/"
		phantom := incidentflow.TimelineEvent{At: at, Kind: "status_changed", Message: "Status investigating → fixing", DedupKey: prefix + "1", Seq: 3}
		require.NoError(t, s.ApplyChange(ctx, incidentflow.Change{Ref: inc.Ref, At: at, Events: []incidentflow.TimelineEvent{phantom}}))
		atBefore, before, err := s.Version(ctx, inc.Ref)
		require.NoError(t, err)
		require.NoError(t, s.WithdrawUpdate(ctx, inc.Ref, prefix))
		require.Empty(t, messages())
		atAfter, after, err := s.Version(ctx, inc.Ref)
		require.NoError(t, err)
		require.False(t, atAfter.Equal(atBefore) && after == before, "a page showing the phantom event is never told it went")
	})
}
