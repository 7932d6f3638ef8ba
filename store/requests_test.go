package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/store"
)

func TestRequestKeys(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		k := store.RequestKey{Principal: "tok_a", Key: "k1", Route: "POST /v1/incidents/INC-1/acknowledge", RequestHash: "h"}
		first, begun, err := s.BeginRequest(ctx, k)
		require.NoError(t, err)
		require.True(t, begun)
		require.Nil(t, first.Status, "no answer yet")

		again, begun, err := s.BeginRequest(ctx, k)
		require.NoError(t, err)
		require.False(t, begun, "the same key is the same request")
		require.Nil(t, again.Status, "still being answered")

		require.NoError(t, s.FinishRequest(ctx, "tok_a", "k1", 200, `{"ok":true}`))
		done, begun, err := s.BeginRequest(ctx, k)
		require.NoError(t, err)
		require.False(t, begun)
		require.Equal(t, 200, *done.Status)
		require.Equal(t, `{"ok":true}`, done.Response)
		require.Equal(t, "h", done.RequestHash)

		other := k
		other.Principal = "tok_b"
		_, begun, err = s.BeginRequest(ctx, other)
		require.NoError(t, err)
		require.True(t, begun, "keys belong to their caller")

		// A request that could not be carried out gives up its lease: the
		// same request takes it over at once, another is still refused the
		// key, and one answered stays answered.
		_, begun, err = s.BeginRequest(ctx, other)
		require.NoError(t, err)
		require.False(t, begun, "held by the request being answered")
		require.NoError(t, s.ReleaseRequest(ctx, "tok_b", "k1"))
		another := other
		another.RequestHash = "h2"
		held, begun, err := s.BeginRequest(ctx, another)
		require.NoError(t, err)
		require.False(t, begun, "a released key is still its request's")
		require.Equal(t, "h", held.RequestHash)
		_, begun, err = s.BeginRequest(ctx, other)
		require.NoError(t, err)
		require.True(t, begun)
		require.NoError(t, s.ReleaseRequest(ctx, "tok_a", "k1"))
		_, begun, err = s.BeginRequest(ctx, k)
		require.NoError(t, err)
		require.False(t, begun, "an answered request stays answered")

		n, err := s.PruneRequests(ctx)
		require.NoError(t, err)
		require.Zero(t, n, "nothing is old enough to prune")
	})
}

// Concurrent notifications of one alert declare one incident: its claim's
// first generation; once that incident is resolved, the next firing
// declares the second generation's, once. Each notification carries an
// alert of its own beside the shared one, which declares its own incident.
func TestDeclareAlertsOncePerFingerprint(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		hash := mustSaveProcess(t, s)
		declare := func(n int) map[string]int {
			var wg sync.WaitGroup
			var mu sync.Mutex
			created := map[string]int{}
			for i := range n {
				wg.Go(func() {
					ds := []store.AlertDeclaration{
						{Alert: store.Alert{Source: "alertmanager", Fingerprint: "fp1", Status: "firing"}, Incident: newIncident(hash, nil)},
						{Alert: store.Alert{Source: "alertmanager", Fingerprint: fmt.Sprintf("own-%d-%d", n, i), Status: "firing"}, Incident: newIncident(hash, nil)},
					}
					got, err := s.DeclareAlerts(ctx, ds)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					defer mu.Unlock()
					for j, d := range got {
						if d.Incident.Ref == "" {
							t.Errorf("%s has no incident", ds[j].Alert.Fingerprint)
						}
						if d.Created {
							created[ds[j].Alert.Fingerprint]++
							created["ref "+d.Incident.Ref]++
						}
					}
				})
			}
			wg.Wait()
			return created
		}
		first := declare(20)
		require.Equal(t, 1, first["fp1"], "one incident for the shared fingerprint")
		require.Len(t, first, 1+20+21, "each alert of its own declares its own incident, each incident once")

		a, err := s.LatestAlert(ctx, "alertmanager", "fp1")
		require.NoError(t, err)
		again, err := s.DeclareAlerts(ctx, []store.AlertDeclaration{{Alert: store.Alert{Source: "alertmanager", Fingerprint: "fp1", Status: "firing"}, Incident: newIncident(hash, nil)}})
		require.NoError(t, err)
		require.Equal(t, a.Ref, again[0].Incident.Ref, "an open incident keeps its fingerprint")
		require.False(t, again[0].Created)

		require.NoError(t, s.ApplyChange(ctx, incidentflow.Change{Ref: a.Ref, Status: "resolved", At: time.Now()}))
		next := declare(10)
		require.Equal(t, 1, next["fp1"], "one new incident once the first is over, not one each")
		b, err := s.LatestAlert(ctx, "alertmanager", "fp1")
		require.NoError(t, err)
		require.NotEqual(t, a.Ref, b.Ref)
		inc, err := s.Incident(ctx, b.Ref)
		require.NoError(t, err)
		require.Nil(t, inc.WorkflowStartedAt, "its run is the caller's to start")
		require.Equal(t, "alert/alertmanager/fp1/g2", *inc.IdempotencyKey)
	})
}
