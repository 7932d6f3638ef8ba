package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// A --shard-io-concurrency that cannot be (below zero) is refused by name
// before anything starts, not silently taken as Temporal's default. The
// context is cancelled so that, unrefused, the command stops at its first
// use of it and never starts a cluster.
func TestShardIOConcurrencyBelowZeroIsRefused(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := run(ctx, []string{"--shard-io-concurrency", "-2"})
	require.Error(t, err)
	require.Contains(t, err.Error(), "shard-io-concurrency")
}
