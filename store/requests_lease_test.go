package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A request whose answerer died holds its key only for its lease: then a
// retry of the same request takes the key over, and another request with
// the key is still refused. (PostgreSQL runs the same statements in
// TestRequestKeys.)
func TestRequestLeaseRunsOut(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "db"))
	require.NoError(t, err)
	defer func() { _ = s.Close() }()
	_, err = s.Migrate(ctx)
	require.NoError(t, err)
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	k := RequestKey{Principal: "alice", Key: "k", Route: "POST /x", RequestHash: "h"}
	_, begun, err := s.BeginRequest(ctx, k)
	require.NoError(t, err)
	require.True(t, begun)

	now = now.Add(RequestLease - time.Second)
	_, begun, err = s.BeginRequest(ctx, k)
	require.NoError(t, err)
	require.False(t, begun, "the first answerer still holds it")

	now = now.Add(2 * time.Second)
	other := k
	other.RequestHash = "other"
	got, begun, err := s.BeginRequest(ctx, other)
	require.NoError(t, err)
	require.False(t, begun, "another request never takes the key")
	require.Equal(t, "h", got.RequestHash)
	_, begun, err = s.BeginRequest(ctx, k)
	require.NoError(t, err)
	require.True(t, begun, "the same request, its lease run out, takes the key over")
	_, begun, err = s.BeginRequest(ctx, k)
	require.NoError(t, err)
	require.False(t, begun, "and holds it for a lease of its own")
}
