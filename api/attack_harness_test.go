package api_test

// A hostile client's attacks on actions as Temporal Updates: answers lost
// on the way back, clients hanging up, the same Idempotency-Key with
// another body, Server-Timing on refusals. The harness they share.

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/incidentflow/incidentflow/api"
	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/processes"
)

// fate is what happens to one update sent through a scriptedTemporal.
type fate int

const (
	// pass sends the update as it is.
	pass fate = iota
	// lost carries the update out to its end, then loses its answer as a
	// connection reset would (Unavailable).
	lost
	// doneNotReady carries the update out, then answers WorkflowNotReady.
	doneNotReady
	// exhausted refuses the update as a rate limit does (ResourceExhausted),
	// without sending it.
	exhausted
	// held sends the update (it goes on whatever the caller does), and
	// answers only when the caller's context ends: the caller hung up, or
	// the API's 30 s wait passed.
	held
)

// scriptedTemporal is the stack's Temporal client whose updates meet the
// fates of its script, one each in turn, then pass.
type scriptedTemporal struct {
	*flakyTemporal
	mu      sync.Mutex
	script  []fate
	entered chan struct{} // closed when a held update has been sent
	done    chan struct{} // closed when a held update has been carried out
}

func (s *scriptedTemporal) next() fate {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.script) == 0 {
		return pass
	}
	f := s.script[0]
	s.script = s.script[1:]
	return f
}

func (s *scriptedTemporal) UpdateWorkflow(ctx context.Context, o client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	switch f := s.next(); f {
	case lost, doneNotReady:
		h, err := s.flakyTemporal.UpdateWorkflow(ctx, o)
		if err == nil {
			err = h.Get(ctx, nil)
		}
		if err != nil {
			return nil, err
		}
		if f == doneNotReady {
			return nil, serviceerror.NewWorkflowNotReady("workflow task failed")
		}
		return nil, serviceerror.NewUnavailable("connection reset by peer")
	case exhausted:
		return nil, serviceerror.NewResourceExhausted(0, "namespace rate limit exceeded")
	case held:
		go func() {
			defer close(s.done)
			if h, err := s.flakyTemporal.UpdateWorkflow(context.WithoutCancel(ctx), o); err == nil {
				_ = h.Get(context.WithoutCancel(ctx), nil)
			}
		}()
		close(s.entered)
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return s.flakyTemporal.UpdateWorkflow(ctx, o)
}

// attackServer is an API of its own over the stack's store (or st) and
// temporal; it answers any method.
type attackServer struct {
	url string
	srv *api.Server
}

func newAttackServer(t *testing.T, temporal api.Temporal, st api.Store) *attackServer {
	t.Helper()
	cat, err := dsl.Load(processes.FS, "processes")
	require.NoError(t, err)
	h := httptest.NewServer(nil)
	t.Cleanup(h.Close)
	srv := api.New(api.Config{Store: st, Temporal: temporal, Catalog: cat, BaseURL: h.URL,
		UIURL: "http://127.0.0.1:8233", Namespace: "default", Logger: slog.New(slog.DiscardHandler)})
	h.Config.Handler = srv.Handler()
	return &attackServer{url: h.URL, srv: srv}
}

func (a *attackServer) do(t *testing.T, ctx context.Context, method, path, body string, headers ...string) (response, error) {
	t.Helper()
	return send(t, ctx, a.url, method, path, body, headers...)
}

func (a *attackServer) must(t *testing.T, method, path, body string, headers ...string) response {
	t.Helper()
	r, err := a.do(t, context.Background(), method, path, body, headers...)
	require.NoError(t, err)
	return r
}

// timelineKinds counts the incident's timeline events of kind, and the
// messages of those.
func (s *stack) timelineKinds(t *testing.T, ref, kind string) (int, []string) {
	t.Helper()
	tl := s.do(t, "GET", "/v1/incidents/"+ref+"/timeline", "")
	require.Equal(t, http.StatusOK, tl.status, tl.raw)
	var msgs []string
	for _, e := range tl.body["events"].([]any) {
		if e := e.(map[string]any); e["kind"] == kind {
			msgs = append(msgs, e["message"].(string))
		}
	}
	return len(msgs), msgs
}

func uniqueKey(prefix string) string { return fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()) }
