package store_test

// Holes found by hostile testing, each a test of what must hold.

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/store"
	"github.com/incidentflow/incidentflow/store/storetest"
)

// FinishSignIn "takes the sign-in flow with the state, once". On PostgreSQL
// it reads the flow, then deletes it, and does not look at what the delete
// did: two callbacks with the same state at the same moment (two tabs, a
// replayed callback URL racing the real one, two replicas) both read it,
// the second delete finds the row gone and deletes nothing without an
// error, and both are handed the flow. Here a third connection holds the
// row for a moment so that the two reads surely meet, as they may by chance.
func TestSignInFlowFinishesTwice(t *testing.T) {
	ctx := context.Background()
	dbURL := storetest.URL(t, store.Postgres)
	s, err := store.Open(ctx, dbURL)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	_, err = s.Migrate(ctx)
	require.NoError(t, err)
	require.NoError(t, s.BeginSignIn(ctx, "state-raced", store.SignInFlow{Verifier: "v", Nonce: "n", Next: "/", ExpiresAt: time.Now().Add(time.Minute)}))

	db, err := sql.Open("postgres", dbURL)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	hold, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	_, err = hold.ExecContext(ctx, `SELECT 1 FROM signin_flows WHERE state_hash = $1 FOR UPDATE`, store.HashToken("state-raced"))
	require.NoError(t, err)

	errs := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := s.FinishSignIn(ctx, "state-raced")
			errs <- err
		}()
	}
	// Both have read the flow once both wait to delete it.
	require.Eventually(t, func() bool {
		var waiting int
		err := db.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'DELETE FROM signin_flows%'`).Scan(&waiting)
		return err == nil && waiting == 2
	}, 10*time.Second, 10*time.Millisecond, "both finishes wait to delete the flow")
	require.NoError(t, hold.Rollback())

	finished := 0
	for range 2 {
		if <-errs == nil {
			finished++
		}
	}
	require.Equal(t, 1, finished, "one sign-in flow was finished %d times: each is a session for whoever brings its code", finished)
}
