package worker

import (
	"fmt"
	"sync"

	sdkworker "go.temporal.io/sdk/worker"
)

// DefaultCacheSize is how many runs a worker process keeps in memory
// between their workflow tasks unless told otherwise: about 140 KiB of
// resident memory each, so under 300 MiB for a full cache. The SDK's own
// default, 10,000, held more than 1 GiB per worker with many incidents
// open; a run that was evicted replays its history when it next wakes,
// which for an incident's short history takes milliseconds (BENCHMARKS.md,
// "Side by side").
const DefaultCacheSize = 2000

// cache is this process's choice of sticky cache size. The Temporal SDK
// keeps one sticky workflow cache for every worker of a process, the
// embedded Temporal server's own workers among them, and sizes it when the
// first of them starts; a size set later is silently ignored. So the size
// goes to the SDK once: at SetCacheSize, or at the first New with the
// default, and a different size after that is refused.
var cache = &cacheSize{size: DefaultCacheSize}

type cacheSize struct {
	sync.Mutex
	size  int
	fixed bool
}

// SetCacheSize sets how many runs this process's workers keep in memory
// between their workflow tasks (the SDK's sticky workflow cache, shared by
// every worker of the process; 0 keeps none, so each task replays its run's
// history). It is set once per process, before any Temporal worker of it
// starts: before New, and before an embedded Temporal server, whose own
// workers share the cache. Once set, a different size is an error.
func SetCacheSize(n int) error {
	if n < 0 {
		return fmt.Errorf("the worker cache size %d must be 0 or more runs", n)
	}
	cache.Lock()
	defer cache.Unlock()
	if cache.fixed && n != cache.size {
		return fmt.Errorf("the worker cache already holds up to %d runs for this process: its size is set once, before the first worker starts", cache.size)
	}
	cache.size = n
	cache.fix()
	return nil
}

// CacheSize is the number of runs this process's workers keep in memory.
func CacheSize() int {
	cache.Lock()
	defer cache.Unlock()
	return cache.size
}

// fixCacheSize hands the default size to the SDK when none was set.
func fixCacheSize() {
	cache.Lock()
	defer cache.Unlock()
	cache.fix()
}

// fix hands the size to the SDK once; the caller holds the lock.
func (c *cacheSize) fix() {
	if !c.fixed {
		sdkworker.SetStickyWorkflowCacheSize(c.size)
		c.fixed = true
	}
}
