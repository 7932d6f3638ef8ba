package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/api"
	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/processes"
)

// gatedTemporal is the stack's Temporal client whose workflow starts wait
// at a gate until it opens (or their deadline passes), as with a Temporal
// that is slow to answer; it counts the starts asked and the most in
// flight at once.
type gatedTemporal struct {
	*flakyTemporal
	open     chan struct{}
	once     sync.Once
	calls    atomic.Int64
	inFlight atomic.Int64
	most     atomic.Int64
}

func (g *gatedTemporal) ExecuteWorkflow(ctx context.Context, o client.StartWorkflowOptions, w any, args ...any) (client.WorkflowRun, error) {
	g.calls.Add(1)
	n := g.inFlight.Add(1)
	defer g.inFlight.Add(-1)
	for m := g.most.Load(); n > m && !g.most.CompareAndSwap(m, n); m = g.most.Load() {
	}
	select {
	case <-g.open:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return g.flakyTemporal.ExecuteWorkflow(ctx, o, w, args...)
}

func (g *gatedTemporal) release() { g.once.Do(func() { close(g.open) }) }

// gatedServer is an API of its own over the shared stack's store, whose
// Temporal starts wait at a gate; tokens made with s.service work on it.
func gatedServer(t *testing.T, s *stack) (*gatedTemporal, func(path, body string, headers ...string) response) {
	t.Helper()
	g := &gatedTemporal{flakyTemporal: s.temporal, open: make(chan struct{})}
	t.Cleanup(g.release)
	return g, ownServer(t, g, s.store)
}

// ownServer is an API of its own over Temporal and a store (the shared
// stack's, or a wrapper of it), and how to post to it.
func ownServer(t *testing.T, temporal api.Temporal, st api.Store) func(path, body string, headers ...string) response {
	t.Helper()
	cat, err := dsl.Load(processes.FS, "processes")
	require.NoError(t, err)
	return ownServerWith(t, temporal, st, cat)
}

// ownServerWith is ownServer with a catalog of the test's own.
func ownServerWith(t *testing.T, temporal api.Temporal, st api.Store, cat *dsl.Catalog) func(path, body string, headers ...string) response {
	t.Helper()
	h := httptest.NewServer(nil)
	t.Cleanup(h.Close)
	srv := api.New(api.Config{Store: st, Temporal: temporal, Catalog: cat, BaseURL: h.URL,
		UIURL: "http://127.0.0.1:8233", Namespace: "default", Logger: slog.New(slog.DiscardHandler)})
	h.Config.Handler = srv.Handler()
	return func(path, body string, headers ...string) response {
		t.Helper()
		req, err := http.NewRequest("POST", h.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer func() { _ = resp.Body.Close() }()
		raw, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		r := response{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
		if len(raw) > 0 {
			require.NoError(t, json.Unmarshal(raw, &r.body), "body: %s", raw)
		}
		return r
	}
}

// settle waits until no start is in flight and the count of starts has
// stopped moving.
func (g *gatedTemporal) settle(t *testing.T) int64 {
	t.Helper()
	last := int64(-1)
	require.Eventually(t, func() bool {
		n := g.calls.Load()
		done := n == last && g.inFlight.Load() == 0
		last = n
		return done
	}, time.Minute, 500*time.Millisecond)
	return last
}

// The same notification sent again while its runs are still starting
// behind the first answer (Alertmanager's HA peers both send it; a sender
// retries one that took long) finds its incidents recorded, not started,
// and starts every one of them again: a storm of 5,000 alerts from a pair
// of peers asks Temporal for 10,000 starts, when it is busiest. The second
// notification should leave to the first the starts it has under way.
func TestRepeatedNotificationDoesNotStartEveryRunAgain(t *testing.T) {
	s := setup(t)
	g, post := gatedServer(t, s)
	am := s.service(t, "alertmanager", incidentflow.RoleDeclarer)
	const n = 40
	body := notification(t, fmt.Sprintf("again-%d", time.Now().UnixNano()), n, nil)
	first := post("/v1/alerts/alertmanager?type=engineering", body, am...)
	require.Equal(t, http.StatusOK, first.status, first.raw)
	s.startAllOf(t, first)
	require.Contains(t, first.raw, `"runs_starting":`, "the runs are still starting")
	second := post("/v1/alerts/alertmanager?type=engineering", body, am...)
	require.Equal(t, http.StatusOK, second.status, second.raw)
	require.NotContains(t, second.raw, `"declared"`, "the second declares nothing")
	g.release()
	calls := g.settle(t)
	require.LessOrEqual(t, calls, int64(n+n/4), "%d runs were asked to start %d times", n, calls)
}

// The runs a notification leaves starting go on after its answer, sixteen
// at a time, with nothing bounding them across notifications: a sender
// that waits for each answer before sending the next (as Alertmanager
// does, group by group) gets an answer within two seconds however slow
// Temporal is, and each notification adds sixteen more starts in flight.
// With Temporal slow, the API piles up goroutines and load on it without
// limit, and the sender is never slowed down. Before f889b21 the starts
// were the request's, so a sender had at most sixteen in flight.
func TestBackgroundStartsAreBoundedAcrossNotifications(t *testing.T) {
	s := setup(t)
	g, post := gatedServer(t, s)
	am := s.service(t, "alertmanager", incidentflow.RoleDeclarer)
	prefix := fmt.Sprintf("flood-%d", time.Now().UnixNano())
	for k := range 4 {
		r := post("/v1/alerts/alertmanager?type=engineering", notification(t, fmt.Sprintf("%s-%d", prefix, k), 17, nil), am...)
		require.Equal(t, http.StatusOK, r.status, r.raw)
		s.startAllOf(t, r)
	}
	most := g.most.Load()
	g.release()
	g.settle(t)
	require.LessOrEqual(t, most, int64(32), "one sender, one notification at a time, had %d starts in flight at once", most)
}

// startAllOf has the test's end start every run of a notification's
// incidents that a gated start left waiting.
func (s *stack) startAllOf(t *testing.T, r response) {
	t.Helper()
	refs := map[string]bool{}
	for _, x := range results(t, r) {
		refs[x[1]] = true
	}
	t.Cleanup(func() { s.startAll(t, refs) })
}
