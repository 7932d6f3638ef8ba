package api_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/store"
)

// memRequests keeps Idempotency-Keys in memory, so that a test can let
// them expire (RequestKeyTTL) at once; the rest is the stack's store.
type memRequests struct {
	*store.Store
	mu       sync.Mutex
	keys     map[string]store.RequestKey
	released map[string]bool
}

func (m *memRequests) BeginRequest(_ context.Context, k store.RequestKey) (store.RequestKey, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id := k.Principal + " " + k.Key
	if prev, ok := m.keys[id]; ok {
		if prev.Status == nil && m.released[id] && prev.RequestHash == k.RequestHash {
			delete(m.released, id)
			return prev, true, nil
		}
		return prev, false, nil
	}
	k.CreatedAt = time.Now()
	m.keys[id] = k
	return k, true, nil
}

func (m *memRequests) FinishRequest(_ context.Context, principal, key string, status int, response string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := m.keys[principal+" "+key]
	k.Status, k.Response = &status, response
	m.keys[principal+" "+key] = k
	return nil
}

func (m *memRequests) ReleaseRequest(_ context.Context, principal, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.released[principal+" "+key] = true
	return nil
}

func (m *memRequests) expire() { m.mu.Lock(); m.keys = map[string]store.RequestKey{}; m.mu.Unlock() }

// "A key used again after it expired is another" (idempotency.go): a
// daily automation posting the same note under the same key finds, the
// next day, a 200 — and no note, with the state of yesterday: the Update
// ID derived from the key is the same, and Temporal answers it from the
// update it carried out the day before.
func TestAttackKeyUsedAgainAfterItExpiredIsAnotherRequest(t *testing.T) {
	s := setup(t)
	ref := s.declare(t, `{"type":"engineering","title":"Daily note","severity":"minor","fields":{"service":"checkout"}}`).str("ref")
	m := &memRequests{Store: s.store, keys: map[string]store.RequestKey{}, released: map[string]bool{}}
	a := newAttackServer(t, s.temporal, m)
	key := uniqueKey("daily")
	body := `{"text":"daily: still degraded"}`
	first := a.must(t, "POST", "/v1/incidents/"+ref+"/notes", body, s.as(t, "alice", "Idempotency-Key", key)...)
	require.Equal(t, http.StatusOK, first.status, first.raw)
	m.expire() // a day later
	next := a.must(t, "POST", "/v1/incidents/"+ref+"/notes", body, s.as(t, "alice", "Idempotency-Key", key)...)
	require.Equal(t, http.StatusOK, next.status, next.raw)
	require.Empty(t, next.header.Get("Idempotent-Replayed"))
	n, msgs := s.timelineKinds(t, ref, "note")
	require.Equal(t, 2, n, "the key expired, so its second use is a new note: %v", msgs)
}
