package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/store"
)

// Update IDs a web form's nonce can shape (it is the client's: "%", "_",
// "\", "/") withdraw their own update's events only, on their own
// incident only.
func TestAttackWithdrawTakesOnlyItsOwnUpdate(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		hash := mustSaveProcess(t, s)
		inc, _, err := s.CreateIncident(ctx, newIncident(hash, nil))
		require.NoError(t, err)
		other, _, err := s.CreateIncident(ctx, newIncident(hash, nil))
		require.NoError(t, err)
		ids := []string{`web-alice-a_c-h`, `web-alice-abc-h`, `web-alice-a%-h`, `web-alice-axx-h`, `web-alice-a\-h`, `web-alice-a\\-h`, `web-alice-a/b-h`, `web-alice-a`}
		at := inc.DeclaredAt.Add(time.Minute)
		for _, r := range []incidentflow.Incident{inc, other} {
			var events []incidentflow.TimelineEvent
			for i, id := range ids {
				events = append(events, incidentflow.TimelineEvent{At: at, Kind: "note", Message: r.Ref + " " + id,
					DedupKey: "incident-" + r.Ref + "/update/" + id + "/1", Seq: int64(i)})
			}
			require.NoError(t, s.ApplyChange(ctx, incidentflow.Change{Ref: r.Ref, At: at, Events: events}))
		}
		left := func(ref string) []string {
			tl, err := s.Timeline(ctx, ref)
			require.NoError(t, err)
			var out []string
			for _, e := range tl {
				out = append(out, e.Message)
			}
			return out
		}
		for _, id := range []string{`web-alice-a_c-h`, `web-alice-a%-h`, `web-alice-a\-h`} {
			require.NoError(t, s.WithdrawUpdate(ctx, inc.Ref, "incident-"+inc.Ref+"/update/"+id+"/"))
		}
		// The other incident's prefix, asked of this incident, takes nothing.
		require.NoError(t, s.WithdrawUpdate(ctx, inc.Ref, "incident-"+other.Ref+"/update/web-alice-abc-h/"))
		want := []string{}
		for _, id := range []string{`web-alice-abc-h`, `web-alice-axx-h`, `web-alice-a\\-h`, `web-alice-a/b-h`, `web-alice-a`} {
			want = append(want, inc.Ref+" "+id)
		}
		require.ElementsMatch(t, want, left(inc.Ref))
		require.Len(t, left(other.Ref), len(ids))
	})
}
