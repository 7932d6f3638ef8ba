package api_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// What the wire (a proxy, a load balancer, the server) does to the next
// UpdateWorkflowExecution call, below the SDK's own interceptors: the SDK
// sees gRPC statuses, as it does in production, not Go context errors.
var (
	// wireDeadlineOnce: the call reaches Temporal and is carried out, and
	// its answer is replaced by a gRPC DeadlineExceeded (a proxy's timeout).
	wireDeadlineOnce atomic.Bool
	// wireHang: the call waits for its context's end (a run that never
	// accepts), then fails as gRPC fails a call whose deadline passed.
	wireHang atomic.Bool
	// wireExhaustedLeft: that many calls are refused ResourceExhausted as
	// Temporal refuses an update over the run's in-flight limit, counted.
	wireExhaustedLeft  atomic.Int64
	wireExhaustedCalls atomic.Int64
)

const updateMethod = "/temporal.api.workflowservice.v1.WorkflowService/UpdateWorkflowExecution"

func onTheWire(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoke grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if method != updateMethod {
		return invoke(ctx, method, req, reply, cc, opts...)
	}
	if wireExhaustedLeft.Add(-1) >= 0 {
		wireExhaustedCalls.Add(1)
		return serviceerror.ToStatus(&serviceerror.ResourceExhausted{Cause: enumspb.RESOURCE_EXHAUSTED_CAUSE_CONCURRENT_LIMIT,
			Scope: enumspb.RESOURCE_EXHAUSTED_SCOPE_NAMESPACE, Message: "limit on number of concurrent in-flight updates has been reached (10)"}).Err()
	}
	if wireHang.Load() {
		<-ctx.Done()
		return status.FromContextError(ctx.Err()).Err()
	}
	if wireDeadlineOnce.CompareAndSwap(true, false) {
		if err := invoke(ctx, method, req, reply, cc, opts...); err != nil {
			return err
		}
		return status.Error(codes.DeadlineExceeded, "upstream request timeout")
	}
	return invoke(ctx, method, req, reply, cc, opts...)
}

func countNotes(t *testing.T, s *stack, ref string) int {
	t.Helper()
	notes := 0
	for _, e := range s.do(t, "GET", "/v1/incidents/"+ref+"/timeline", "").body["events"].([]any) {
		if e.(map[string]any)["kind"] == "note" {
			notes++
		}
	}
	return notes
}

// runUpdate retries "a deadline not this wait's own (a server's or a
// proxy's) passing while Temporal may hold the update" as the same update.
// Such a deadline reaches the SDK as a gRPC status, and the SDK returns a
// WorkflowUpdateServiceTimeoutOrCanceledError around a
// *serviceerror.DeadlineExceeded, which is not context.DeadlineExceeded:
// the retry never happens, and the caller is told 503 "retry shortly" for
// a note that was carried out. Its retry (no Idempotency-Key) adds it again.
func TestAForeignDeadlineIsRetriedAsTheSameUpdate(t *testing.T) {
	s := setup(t)
	ref := s.declare(t, `{"type":"engineering","title":"Proxy deadline","severity":"minor","fields":{"service":"checkout"}}`).str("ref")
	wireDeadlineOnce.Store(true)
	body := `{"text":"failed over the database"}`
	first := s.do(t, "POST", "/v1/incidents/"+ref+"/notes", body, s.as(t, "alice")...)
	require.False(t, wireDeadlineOnce.Load(), "the proxy's deadline was never injected")
	if first.status == http.StatusTooManyRequests || first.status >= 500 {
		again := s.do(t, "POST", "/v1/incidents/"+ref+"/notes", body, s.as(t, "alice")...)
		require.Equal(t, http.StatusOK, again.status, again.raw)
	}
	require.Equal(t, 1, countNotes(t, s, ref), "answered %d %s, the note was carried out by the first request and again by its retry", first.status, first.raw)
	require.Equal(t, http.StatusOK, first.status, "a foreign deadline was not retried as the same update: %s", first.raw)
}

// When the API's own 30 s wait passes, its 503 says the run may still take
// the change and, to a caller that sent one, to resend with the same
// Idempotency-Key. The SDK's error
// for that deadline is not context.DeadlineExceeded, so updateError's
// branch is never taken and the answer says "Temporal could not deliver the
// update; retry shortly". (Takes 30 s.)
func TestTheAPIsOwnDeadlineSaysToResendWithTheSameKey(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the API's 30 s")
	}
	s := setup(t)
	ref := s.declare(t, `{"type":"engineering","title":"Own deadline","severity":"minor","fields":{"service":"checkout"}}`).str("ref")
	wireHang.Store(true)
	defer wireHang.Store(false)
	r := s.do(t, "POST", "/v1/incidents/"+ref+"/notes", `{"text":"still looking"}`, s.as(t, "alice", "Idempotency-Key", "own-deadline-"+ref)...)
	wireHang.Store(false)
	require.Equal(t, http.StatusServiceUnavailable, r.status, r.raw)
	require.Contains(t, r.str("error", "message"), "same Idempotency-Key", "the 30 s deadline's answer")
}

// An update over the run's in-flight limit (Temporal refuses it
// ResourceExhausted) is not turned away: the SDK sends it again until it
// is admitted, within the API's wait, and it is carried out once.
func TestAnUpdateOverTheInFlightLimitWaitsItsTurn(t *testing.T) {
	s := setup(t)
	ref := s.declare(t, `{"type":"engineering","title":"In-flight limit","severity":"minor","fields":{"service":"checkout"}}`).str("ref")
	wireExhaustedCalls.Store(0)
	wireExhaustedLeft.Store(3)
	r := s.do(t, "POST", "/v1/incidents/"+ref+"/notes", `{"text":"one too many"}`, s.as(t, "alice")...)
	require.Equal(t, http.StatusOK, r.status, "%s", strings.TrimSpace(r.raw))
	require.Equal(t, int64(3), wireExhaustedCalls.Load(), "refused three times, then admitted")
	require.Equal(t, 1, countNotes(t, s, ref))
}
