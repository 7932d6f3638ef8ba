package worker

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/incidentflow/incidentflow/activities"
)

// The cache size is the process's: set once, before the first worker (or
// fixed by it at the default), and refused when asked to change afterwards
// (the SDK would ignore it).
func TestCacheSizeIsSetOncePerProcess(t *testing.T) {
	require.ErrorContains(t, SetCacheSize(-1), "the worker cache size -1 must be 0 or more runs")
	require.Equal(t, DefaultCacheSize, CacheSize())
	require.NoError(t, SetCacheSize(5))
	require.NoError(t, SetCacheSize(5), "the same size again is no change")
	require.ErrorContains(t, SetCacheSize(6), "the worker cache already holds up to 5 runs for this process")

	c, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	require.NoError(t, err)
	defer c.Close()
	New(c, &activities.Activities{})
	require.Equal(t, 5, CacheSize(), "a worker keeps the size set")
	require.ErrorContains(t, SetCacheSize(6), "its size is set once, before the first worker starts")
}
