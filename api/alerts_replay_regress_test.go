package api_test

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/store"
)

// countingStore is the stack's store, counting the alert reads and writes
// asked of it one alert at a time.
type countingStore struct {
	*store.Store
	latest, saves atomic.Int64
}

func (c *countingStore) LatestAlert(ctx context.Context, source, fingerprint string) (store.Alert, error) {
	c.latest.Add(1)
	return c.Store.LatestAlert(ctx, source, fingerprint)
}

func (c *countingStore) SaveAlert(ctx context.Context, a store.Alert) (string, error) {
	c.saves.Add(1)
	return c.Store.SaveAlert(ctx, a)
}

// Only a notification's new firings are taken in bulk. The same
// notification again (Alertmanager repeats a firing group every
// repeat_interval, re-sends it on every change of the group, and each peer
// of an HA pair sends it) takes each alert alone, as before f889b21: two
// reads and a transaction of its own per alert, sixteen at a time. On the
// embedded stack a notification of 2,000 was answered in 8 s and the same
// again, 20 s later, in 93 s. A repeat says nothing new: it should cost a
// few statements per chunk, as the first did, not three per alert.
func TestRepeatedNotificationIsTakenInBulk(t *testing.T) {
	s := setup(t)
	counted := &countingStore{Store: s.store}
	post := ownServer(t, s.temporal, counted)
	am := s.service(t, "alertmanager", incidentflow.RoleDeclarer)
	const n = 300
	prefix := fmt.Sprintf("repeat-%d", time.Now().UnixNano())
	body := notification(t, prefix, n, nil)
	first := post("/v1/alerts/alertmanager?type=engineering", body, am...)
	require.Equal(t, http.StatusOK, first.status, first.raw)
	refs := map[string]bool{}
	for _, x := range results(t, first) {
		refs[x[1]] = true
	}
	require.Len(t, refs, n)
	s.waitStarted(t, refs)

	counted.latest.Store(0)
	counted.saves.Store(0)
	again := post("/v1/alerts/alertmanager?type=engineering", body, am...)
	require.Equal(t, http.StatusOK, again.status, again.raw)
	for fp, x := range results(t, again) {
		require.Equal(t, "replayed", x[0], fp)
	}
	reads, writes := counted.latest.Load(), counted.saves.Load()
	require.LessOrEqual(t, reads+writes, int64(n/10), "a repeat of %d alerts read its alerts one by one %d times and saved them one by one %d times", n, reads, writes)
}
