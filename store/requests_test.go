package store_test

import (
	"context"
	"sync"
	"testing"

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

		// A request that could not be carried out is forgotten; one answered is not.
		require.NoError(t, s.ForgetRequest(ctx, "tok_b", "k1"))
		_, begun, err = s.BeginRequest(ctx, other)
		require.NoError(t, err)
		require.True(t, begun)
		require.NoError(t, s.ForgetRequest(ctx, "tok_a", "k1"))
		_, begun, err = s.BeginRequest(ctx, k)
		require.NoError(t, err)
		require.False(t, begun, "an answered request stays answered")

		n, err := s.PruneRequests(ctx)
		require.NoError(t, err)
		require.Zero(t, n, "nothing is old enough to prune")
	})
}

// Concurrent notifications of one alert get one claim: its first
// generation; once the claim's incident is resolved, the next firing starts
// the second generation.
func TestAlertClaims(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		var wg sync.WaitGroup
		claims := make(chan store.AlertClaim, 20)
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := s.ClaimAlert(ctx, "alertmanager", "fp1")
				if err != nil {
					t.Error(err)
					return
				}
				claims <- c
			}()
		}
		wg.Wait()
		close(claims)
		for c := range claims {
			require.Equal(t, store.AlertClaim{Source: "alertmanager", Fingerprint: "fp1", Generation: 1}, c)
		}

		inc, _, err := s.CreateIncident(ctx, newIncident(mustSaveProcess(t, s), nil))
		require.NoError(t, err)
		require.NoError(t, s.SetAlertClaim(ctx, store.AlertClaim{Source: "alertmanager", Fingerprint: "fp1", Generation: 1}, inc.Ref))
		c, err := s.ClaimAlert(ctx, "alertmanager", "fp1")
		require.NoError(t, err)
		require.Equal(t, inc.Ref, c.Ref, "an open incident keeps its fingerprint")

		require.NoError(t, s.ApplyChange(ctx, incidentflow.Change{Ref: inc.Ref, Status: "resolved", At: inc.DeclaredAt}))
		next := make(chan store.AlertClaim, 10)
		for range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := s.ClaimAlert(ctx, "alertmanager", "fp1")
				if err != nil {
					t.Error(err)
					return
				}
				next <- c
			}()
		}
		wg.Wait()
		close(next)
		for c := range next {
			require.Equal(t, store.AlertClaim{Source: "alertmanager", Fingerprint: "fp1", Generation: 2}, c, "one new generation, not one each")
		}
	})
}
