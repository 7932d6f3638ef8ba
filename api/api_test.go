package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/grpc"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/activities"
	"github.com/incidentflow/incidentflow/api"
	"github.com/incidentflow/incidentflow/channels"
	"github.com/incidentflow/incidentflow/devserver"
	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/processes"
	"github.com/incidentflow/incidentflow/store"
	"github.com/incidentflow/incidentflow/store/storetest"
	"github.com/incidentflow/incidentflow/worker"
	"github.com/incidentflow/incidentflow/workflows"
)

// stack is the whole system under test: an embedded Temporal server, a real
// PostgreSQL database, a worker and the API over HTTP. Tests share it and
// declare their own incidents.
type stack struct {
	token    string // an admin token every request carries unless it sets its own
	mu       sync.Mutex
	tokens   map[string]string // people's tokens, by person
	http     *httptest.Server
	server   *api.Server
	temporal *flakyTemporal
	store    *store.Store
	console  *lines
	// eagerStarts holds the workflow IDs whose first workflow task came
	// back with their start (eager start).
	eagerStarts *sync.Map
}

var (
	shared     *stack
	sharedErr  error
	sharedOnce sync.Once
	teardown   []func()
)

func TestMain(m *testing.M) {
	code := m.Run()
	for i := len(teardown) - 1; i >= 0; i-- {
		teardown[i]()
	}
	storetest.Stop()
	os.Exit(code)
}

// flakyTemporal is the real client, whose workflow starts, updates and
// queries can be made to fail as they would with Temporal down; it counts
// the queries asked.
type flakyTemporal struct {
	client.Client
	failStarts  atomic.Bool
	failUpdates atomic.Bool
	failQueries atomic.Bool
	queries     atomic.Int64
	// notReadyOnce makes the next update reach the run and be carried out,
	// and its answer be lost as WorkflowNotReady (a workflow task that
	// failed as it answered).
	notReadyOnce atomic.Bool
}

func (f *flakyTemporal) QueryWorkflow(ctx context.Context, workflowID, runID, queryType string, args ...any) (converter.EncodedValue, error) {
	f.queries.Add(1)
	if f.failQueries.Load() {
		return nil, errors.New("context deadline exceeded")
	}
	return f.Client.QueryWorkflow(ctx, workflowID, runID, queryType, args...)
}

func (f *flakyTemporal) UpdateWorkflow(ctx context.Context, o client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	if f.failUpdates.Load() {
		return nil, errors.New("connection refused")
	}
	if f.notReadyOnce.CompareAndSwap(true, false) {
		h, err := f.Client.UpdateWorkflow(ctx, o)
		if err == nil {
			err = h.Get(ctx, nil)
		}
		if err != nil {
			return nil, err
		}
		return nil, serviceerror.NewWorkflowNotReady("workflow task failed")
	}
	return f.Client.UpdateWorkflow(ctx, o)
}

func (f *flakyTemporal) ExecuteWorkflow(ctx context.Context, o client.StartWorkflowOptions, w any, args ...any) (client.WorkflowRun, error) {
	if f.failStarts.Load() {
		return nil, errors.New("connection refused")
	}
	return f.Client.ExecuteWorkflow(ctx, o, w, args...)
}

// lines collects console deliveries.
type lines struct {
	mu  sync.Mutex
	all []string
}

func (l *lines) Println(s string) { l.mu.Lock(); l.all = append(l.all, s); l.mu.Unlock() }

func (l *lines) containing(sub string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, s := range l.all {
		if strings.Contains(s, sub) {
			out = append(out, s)
		}
	}
	return out
}

func setup(t *testing.T) *stack {
	t.Helper()
	sharedOnce.Do(func() { shared, sharedErr = start(t) })
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared
}

func start(t *testing.T) (*stack, error) {
	ctx := context.Background()
	port, err := devserver.FreePort("127.0.0.1")
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	attrs := workflows.SearchAttributeTypes()
	srv, err := devserver.Start(ctx, devserver.Options{FrontendAddr: addr, SearchAttributes: attrs})
	if err != nil {
		return nil, err
	}
	teardown = append(teardown, srv.Stop)

	// The store outlives this first test: open it outside t's cleanup.
	st, err := store.Open(ctx, storetest.URL(t, store.Postgres))
	if err != nil {
		return nil, err
	}
	if _, err := st.Migrate(ctx); err != nil {
		return nil, err
	}
	st.SetAuditKey(store.AuditKey([]byte(testSecret)))
	teardown = append(teardown, func() { _ = st.Close() })

	eager := new(sync.Map)
	countEager := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoke grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		err := invoke(ctx, method, req, reply, cc, opts...)
		if r, ok := reply.(*workflowservice.StartWorkflowExecutionResponse); ok && err == nil && r.GetEagerWorkflowTask() != nil {
			eager.Store(req.(*workflowservice.StartWorkflowExecutionRequest).GetWorkflowId(), true)
		}
		return err
	}
	cl, err := client.Dial(client.Options{HostPort: addr, Logger: quietLogger{},
		ConnectionOptions: client.ConnectionOptions{DialOptions: []grpc.DialOption{grpc.WithChainUnaryInterceptor(countEager, onTheWire)}}})
	if err != nil {
		return nil, err
	}
	teardown = append(teardown, cl.Close)
	cat, err := dsl.Load(processes.FS, "processes")
	if err != nil {
		return nil, err
	}
	console := &lines{}
	senders, problems := channels.Build(cat.Directory, channels.Config{Console: console, Getenv: os.Getenv})
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	w := worker.New(cl, &activities.Activities{Store: st, Directory: cat.Directory, Channels: senders})
	if err := w.Start(); err != nil {
		return nil, err
	}
	teardown = append(teardown, w.Stop)

	flaky := &flakyTemporal{Client: cl}
	token, _, err := st.CreateToken(ctx, "test-admin", incidentflow.Principal{Kind: incidentflow.ServicePrincipal, ID: "tests", Role: incidentflow.RoleAdmin})
	if err != nil {
		return nil, err
	}
	s := &stack{temporal: flaky, store: st, console: console, token: token, eagerStarts: eager}
	s.http = httptest.NewServer(nil)
	s.server = api.New(api.Config{Store: st, Temporal: flaky, Catalog: cat, BaseURL: s.http.URL,
		UIURL: "http://127.0.0.1:8233", Namespace: "default", Logger: slog.New(slog.DiscardHandler)})
	s.http.Config.Handler = s.server.Handler()
	teardown = append(teardown, s.http.Close)
	return s, nil
}

// testSecret is the stack's secret: its audit log is chained under it.
const testSecret = "a secret of the tests, at least 32 bytes long"

// quietLogger drops the SDK's logging.
type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}

// response is a decoded JSON answer.
type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (r response) str(path ...string) string {
	var v any = r.body
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	s, _ := v.(string)
	return s
}

func (s *stack) do(t *testing.T, method, path, body string, headers ...string) response {
	t.Helper()
	r, err := send(t, context.Background(), s.http.URL, method, path, body, append([]string{"Authorization", "Bearer " + s.token}, headers...)...)
	require.NoError(t, err)
	return r
}

// send makes a JSON request to the API at base, with headers given as name,
// value pairs (a later one replaces an earlier of the same name), and
// decodes its answer; err is the request's own failure (a context ended).
func send(t *testing.T, ctx context.Context, base, method, path, body string, headers ...string) (response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, base+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return response{}, err
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	r := response{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if len(raw) > 0 {
		require.NoError(t, json.Unmarshal(raw, &r.body), "body: %s", raw)
	}
	return r, nil
}

// as returns the headers of a request a person of the directory makes,
// with a responder's token of their own (made once), then extra headers.
func (s *stack) as(t *testing.T, person string, extra ...string) []string {
	t.Helper()
	return s.tokenOf(t, incidentflow.Principal{Kind: incidentflow.PersonPrincipal, ID: person, Role: incidentflow.RoleResponder}, extra)
}

// service returns the headers of a request a service makes with a token of
// the role (made once), then extra headers.
func (s *stack) service(t *testing.T, name, role string, extra ...string) []string {
	t.Helper()
	return s.tokenOf(t, incidentflow.Principal{Kind: incidentflow.ServicePrincipal, ID: name, Role: role}, extra)
}

func (s *stack) tokenOf(t *testing.T, p incidentflow.Principal, extra []string) []string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tokens == nil {
		s.tokens = map[string]string{}
	}
	id := p.String() + "/" + p.Role
	tok, ok := s.tokens[id]
	if !ok {
		var err error
		tok, _, err = s.store.CreateToken(context.Background(), "", p)
		require.NoError(t, err)
		s.tokens[id] = tok
	}
	return append([]string{"Authorization", "Bearer " + tok}, extra...)
}

func (s *stack) declare(t *testing.T, body string, headers ...string) response {
	t.Helper()
	r := s.do(t, "POST", "/v1/incidents", body, headers...)
	require.Equal(t, http.StatusCreated, r.status, r.raw)
	return r
}

// visible waits until Temporal's visibility store lists the query's runs.
func (s *stack) visible(t *testing.T, query string, workflowID string) {
	t.Helper()
	require.Eventually(t, func() bool {
		resp, err := s.temporal.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Query: query})
		if err != nil {
			return false
		}
		for _, e := range resp.Executions {
			if e.Execution.WorkflowId == workflowID {
				return true
			}
		}
		return false
	}, 20*time.Second, 200*time.Millisecond, "no run %s for %s", workflowID, query)
}

func TestDeclareAcknowledgeResolve(t *testing.T) {
	s := setup(t)
	r := s.declare(t, `{"type":"engineering","title":"Checkout is down","severity":"critical","fields":{"service":"checkout"}}`, s.as(t, "carol")...)
	ref := r.str("ref")
	require.Regexp(t, `^INC-\d+$`, ref)
	require.Equal(t, "incident-"+ref, r.str("workflow_id"))
	require.Equal(t, "http://127.0.0.1:8233/namespaces/default/workflows/incident-"+ref, r.str("ui_url"))
	require.Equal(t, "investigating", r.str("status"))
	require.Equal(t, map[string]any{"service": "checkout", "customer_impact": true}, r.body["fields"])
	require.Equal(t, s.http.URL+"/v1/incidents/"+ref, r.header.Get("Location"))

	s.visible(t, `IncidentType="engineering" AND IncidentSeverity="critical" AND IncidentStatus="investigating"`, "incident-"+ref)

	require.Eventually(t, func() bool { return len(s.console.containing("["+ref+"] Notify critical → #support-leads")) == 1 },
		10*time.Second, 50*time.Millisecond, "support was not told")

	// The API shares its client with a worker here: the run's first
	// workflow task came back with its start, not through matching.
	_, eager := s.eagerStarts.Load("incident-" + ref)
	require.True(t, eager, "the run was not started eagerly")

	ack := s.do(t, "POST", "/v1/incidents/"+ref+"/acknowledge", `{}`, s.as(t, "alice")...)
	require.Equal(t, http.StatusOK, ack.status, ack.raw)
	// The answer says where its time went, as developer tools show it.
	require.Regexp(t, `^request;dur=\d+\.\d, accept;dur=\d+\.\d, complete;dur=\d+\.\d$`, ack.header.Get("Server-Timing"))
	again := s.do(t, "POST", "/v1/incidents/"+ref+"/acknowledge", `{}`, s.as(t, "bob")...)
	require.Equal(t, http.StatusConflict, again.status)
	require.Contains(t, again.str("error", "message"), "already acknowledged by alice")

	got := s.do(t, "GET", "/v1/incidents/"+ref, "")
	require.Equal(t, http.StatusOK, got.status)
	require.Equal(t, "alice", got.str("acknowledged_by"), "the update returns after the store has it")
	require.Equal(t, "alice", got.str("state", "acknowledged", "by"))

	res := s.do(t, "POST", "/v1/incidents/"+ref+"/status", `{"status":"resolved","note":"rolled back"}`, s.as(t, "alice")...)
	require.Equal(t, http.StatusOK, res.status, res.raw)

	// A critical incident is reviewed before it closes.
	var review map[string]any
	require.Eventually(t, func() bool {
		st := s.do(t, "GET", "/v1/incidents/"+ref, "")
		reviews, _ := st.body["state"].(map[string]any)["reviews"].([]any)
		if len(reviews) == 1 {
			review = reviews[0].(map[string]any)
		}
		return review != nil
	}, 10*time.Second, 50*time.Millisecond, "no review was scheduled")
	require.Equal(t, "Post-incident review: "+ref+" Checkout is down", review["title"])
	for _, tc := range []struct{ path, body, want string }{
		{"/review/reschedule", `{"start":"2020-01-01T10:00:00Z"}`, "start must be in the future"},
		{"/review/reschedule", `{}`, "start is required"},
		{"/review", `{"write_up":"notes.doc"}`, "write_up must be a link"},
	} {
		bad := s.do(t, "POST", "/v1/incidents/"+ref+tc.path, tc.body, s.as(t, "alice")...)
		require.Equal(t, http.StatusUnprocessableEntity, bad.status, bad.raw)
		require.Contains(t, bad.raw, tc.want)
	}
	moved := s.do(t, "POST", "/v1/incidents/"+ref+"/review/reschedule",
		`{"start":"`+time.Now().Add(72*time.Hour).UTC().Format(time.RFC3339)+`"}`, s.as(t, "alice")...)
	require.Equal(t, http.StatusOK, moved.status, moved.raw)
	require.Equal(t, float64(1), moved.body["state"].(map[string]any)["reviews"].([]any)[0].(map[string]any)["sequence"])
	// The attendees hear of the new time before the review is held (once
	// it is, the incident closes and an invitation still on its way has
	// nothing left to say).
	require.Eventually(t, func() bool {
		return len(s.console.containing("["+ref+"] Review critical → Alice Ng (alice) via #console")) == 2
	}, 10*time.Second, 50*time.Millisecond, "invited, then told of the new time")
	held := s.do(t, "POST", "/v1/incidents/"+ref+"/review", `{"write_up":"https://wiki.example.com/`+ref+`"}`, s.as(t, "alice")...)
	require.Equal(t, http.StatusOK, held.status, held.raw)
	s.visible(t, `IncidentStatus="closed" AND IncidentRef="`+ref+`"`, "incident-"+ref)

	tl := s.do(t, "GET", "/v1/incidents/"+ref+"/timeline", "")
	require.Equal(t, http.StatusOK, tl.status)
	var kinds []string
	for _, e := range tl.body["events"].([]any) {
		kinds = append(kinds, e.(map[string]any)["kind"].(string))
	}
	require.Equal(t, "declared", kinds[0])
	require.Contains(t, kinds, "acknowledged")
	require.Contains(t, kinds, "status_changed")
	require.Contains(t, kinds, "review_rescheduled")
	require.Contains(t, kinds, "review_held")

	closed := s.do(t, "POST", "/v1/incidents/"+ref+"/status", `{"status":"monitoring"}`)
	require.Equal(t, http.StatusConflict, closed.status)
	require.Equal(t, "incident "+ref+" is closed", closed.str("error", "message"))

	// The follow-up outlives the incident: it is completed in the store.
	tasks := s.do(t, "GET", "/v1/incidents/"+ref+"/tasks", "")
	require.Equal(t, http.StatusOK, tasks.status, tasks.raw)
	list := tasks.body["tasks"].([]any)
	require.Len(t, list, 1, "the write-up")
	task := list[0].(map[string]any)
	require.Equal(t, "open", task["status"])
	require.Equal(t, ref+"-T1", task["id"])
	done := s.do(t, "POST", "/v1/tasks/"+ref+"-T1/complete", `{"note":"published"}`, s.as(t, "alice")...)
	require.Equal(t, http.StatusOK, done.status, done.raw)
	require.Empty(t, done.header.Get("Server-Timing"), "completed in the store, with no run to time")
	twice := s.do(t, "POST", "/v1/tasks/"+ref+"-T1/complete", `{}`, s.as(t, "alice")...)
	require.Equal(t, http.StatusConflict, twice.status)
	require.Equal(t, http.StatusNotFound, s.do(t, "POST", "/v1/tasks/"+ref+"-T99/complete", `{}`, s.as(t, "alice")...).status)
	require.Equal(t, http.StatusNotFound, s.do(t, "POST", "/v1/tasks/nonsense/complete", `{}`, s.as(t, "alice")...).status)

	stored, err := s.store.Incident(context.Background(), ref)
	require.NoError(t, err)
	require.Equal(t, "closed", stored.Status)
	require.NotNil(t, stored.ResolvedAt)
	require.NotNil(t, stored.ClosedAt)
}

func TestDeclareRefusesBadInput(t *testing.T) {
	s := setup(t)
	for _, tc := range []struct {
		name, body   string
		status       int
		code, substr string
	}{
		{"ErrUnknownType", `{"type":"enginering","title":"x","severity":"critical"}`, 422, "invalid", `type "enginering" is not an incident type here: use one of engineering, operational, privacy, security; did you mean "engineering"?`},
		{"ErrMissingTitle", `{"type":"engineering","severity":"critical"}`, 422, "invalid", "title is required"},
		{"ErrBadSeverity", `{"type":"engineering","title":"x","severity":"sev1"}`, 422, "invalid", `"sev1" is not a severity of engineering incidents`},
		{"ErrUnknownField", `{"type":"engineering","title":"x","severity":"minor","fields":{"servce":"a"}}`, 422, "invalid", `fields.servce is not a field of engineering incidents; did you mean "service"?`},
		{"ErrFieldType", `{"type":"security","title":"x","severity":"minor","fields":{"affected_users":2.5}}`, 422, "invalid", "fields.affected_users must be a whole number"},
		{"ErrUnknownJSONField", `{"type":"engineering","title":"x","severity":"minor","sevrity":"x"}`, 400, "bad_request", `unknown field "sevrity"`},
		{"ErrMalformedJSON", `{"type":`, 400, "bad_request", "not valid JSON"},
		{"ErrEmptyBody", ``, 400, "bad_request", "the request body is empty"},
		{"ErrNUL", `{"type":"engineering","title":"a\u0000b","severity":"minor"}`, 400, "bad_request", "NUL character"},
		{"ErrWrongType", `{"type":1}`, 400, "bad_request", `"type" must be text, not a number`},
		{"ErrTooLarge", `{"type":"engineering","title":"` + strings.Repeat("x", 1<<20) + `"}`, 400, "bad_request", "larger than 1048576 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.do(t, "POST", "/v1/incidents", tc.body)
			require.Equal(t, tc.status, r.status, r.raw)
			require.Equal(t, tc.code, r.str("error", "code"))
			require.Contains(t, r.str("error", "message"), tc.substr)
		})
	}
	t.Run("ErrMissingRequiredField", func(t *testing.T) {
		r := s.do(t, "POST", "/v1/incidents", `{"type":"privacy","title":"Export leaked","severity":"high"}`)
		require.Equal(t, 422, r.status)
		require.Contains(t, r.str("error", "message"), "fields.aware_at is required")
	})
	t.Run("ReportsEveryProblem", func(t *testing.T) {
		r := s.do(t, "POST", "/v1/incidents", `{"type":"security","title":"","severity":"huge","fields":{"vector":"aliens"}}`)
		require.Equal(t, 422, r.status)
		fields := []string{}
		for _, d := range r.body["error"].(map[string]any)["details"].([]any) {
			fields = append(fields, d.(map[string]any)["field"].(string))
		}
		require.Equal(t, []string{"title", "severity", "fields.vector"}, fields)
	})
}

func TestIdempotencyKey(t *testing.T) {
	s := setup(t)
	key := fmt.Sprintf("idem-%d", time.Now().UnixNano())
	body := `{"type":"operational","title":"Refunds sent twice","severity":"major"}`
	first := s.declare(t, body, "Idempotency-Key", key)
	second := s.do(t, "POST", "/v1/incidents", body, "Idempotency-Key", key)
	require.Equal(t, http.StatusOK, second.status)
	require.Equal(t, "true", second.header.Get("Idempotent-Replayed"))
	require.Equal(t, first.str("ref"), second.str("ref"))

	other := s.do(t, "POST", "/v1/incidents", `{"type":"operational","title":"Something else","severity":"major"}`, "Idempotency-Key", key)
	require.Equal(t, http.StatusUnprocessableEntity, other.status)
	require.Contains(t, other.str("error", "message"), "was already used to declare "+first.str("ref"))
}

// A declared incident is never lost: if its run cannot start, the incident is
// recorded, a retry with the same key starts it, and so does the reconciler.
func TestDeclareIsExactlyOnceWhenStartsFail(t *testing.T) {
	s := setup(t)
	ctx := context.Background()

	t.Run("RetryWithSameKeyStartsTheRun", func(t *testing.T) {
		key := fmt.Sprintf("down-%d", time.Now().UnixNano())
		body := `{"type":"privacy","title":"Mailing list exported","severity":"high","fields":{"aware_at":"2026-11-26T08:00:00Z"}}`
		s.temporal.failStarts.Store(true)
		r := s.do(t, "POST", "/v1/incidents", body, "Idempotency-Key", key)
		s.temporal.failStarts.Store(false)
		require.Equal(t, http.StatusAccepted, r.status, r.raw)
		require.Equal(t, false, r.body["started"])
		ref := r.str("incident", "ref")
		row, err := s.store.Incident(ctx, ref)
		require.NoError(t, err)
		require.Nil(t, row.WorkflowStartedAt)

		again := s.do(t, "POST", "/v1/incidents", body, "Idempotency-Key", key)
		require.Equal(t, http.StatusOK, again.status, again.raw)
		require.Equal(t, ref, again.str("ref"))
		s.requireRunning(t, ref)
	})

	t.Run("ReconcilerStartsARowLeftWithoutItsRun", func(t *testing.T) {
		// The API died between the insert and the start: only the row exists.
		s.temporal.failStarts.Store(true)
		r := s.do(t, "POST", "/v1/incidents", `{"type":"security","title":"Leaked token","severity":"critical"}`)
		s.temporal.failStarts.Store(false)
		require.Equal(t, http.StatusAccepted, r.status)
		ref := r.str("incident", "ref")
		n, err := s.server.Reconcile(ctx, -time.Minute) // a negative grace counts every row as due
		require.NoError(t, err)
		require.GreaterOrEqual(t, n, 1)
		s.requireRunning(t, ref)
		n, err = s.server.Reconcile(ctx, -time.Minute)
		require.NoError(t, err)
		require.Zero(t, n, "nothing is left to start")
	})
}

func (s *stack) requireRunning(t *testing.T, ref string) {
	t.Helper()
	desc, err := s.temporal.DescribeWorkflowExecution(context.Background(), incidentflow.WorkflowID(ref), "")
	require.NoError(t, err)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, desc.WorkflowExecutionInfo.Status)
	row, err := s.store.Incident(context.Background(), ref)
	require.NoError(t, err)
	require.NotNil(t, row.WorkflowStartedAt)
}

func TestSignalAndLists(t *testing.T) {
	s := setup(t)
	r := s.declare(t, `{"type":"security","title":"Suspicious admin logins","severity":"major","fields":{"personal_data":true}}`)
	ref := r.str("ref")
	sig := s.do(t, "POST", "/v1/incidents/"+ref+"/signals/contained", `{"payload":{"how":"revoked sessions"}}`, s.as(t, "carol")...)
	require.Equal(t, http.StatusOK, sig.status, sig.raw)
	bad := s.do(t, "POST", "/v1/incidents/"+ref+"/signals/Not-A-Name", `{}`)
	require.Equal(t, http.StatusUnprocessableEntity, bad.status)

	list := s.do(t, "GET", "/v1/incidents?type=security&severity=major&limit=1", "")
	require.Equal(t, http.StatusOK, list.status, list.raw)
	items := list.body["incidents"].([]any)
	require.Len(t, items, 1)
	require.Equal(t, ref, items[0].(map[string]any)["ref"])
	require.NotEmpty(t, list.body["next_cursor"])

	nul := s.do(t, "GET", "/v1/incidents?severity=%00", "")
	require.Equal(t, http.StatusUnprocessableEntity, nul.status, nul.raw)
	badFilter := s.do(t, "GET", "/v1/incidents?status=done", "")
	require.Equal(t, http.StatusUnprocessableEntity, badFilter.status)
	require.Contains(t, badFilter.str("error", "message"), "status must be one of")

	require.Equal(t, http.StatusNotFound, s.do(t, "GET", "/v1/incidents/INC-999999", "").status)
	require.Equal(t, http.StatusNotFound, s.do(t, "GET", "/v1/incidents/../etc", "").status)
	require.Equal(t, http.StatusNotFound, s.do(t, "POST", "/v1/incidents/nope/acknowledge", `{}`).status)
}

func TestSeverityRolesNotes(t *testing.T) {
	s := setup(t)
	ref := s.declare(t, `{"type":"engineering","title":"Search is slow","severity":"minor"}`).str("ref")
	base := "/v1/incidents/" + ref
	for _, tc := range []struct {
		name, path, body string
		status           int
		substr           string
	}{
		{"RaiseSeverity", "/severity", `{"severity":"critical","note":"checkout affected too"}`, 200, ""},
		{"ErrSameSeverity", "/severity", `{"severity":"critical"}`, 409, "is already critical"},
		{"ErrUnknownSeverity", "/severity", `{"severity":"critcal"}`, 422, `must be one of critical, major, minor, not "critcal"; did you mean "critical"?`},
		{"AssignRole", "/roles", `{"role":"lead","person":"alice"}`, 200, ""},
		{"ErrUnknownPerson", "/roles", `{"role":"lead","person":"alcie"}`, 422, `"alcie" is not in the directory; did you mean "alice"?`},
		{"ErrUnknownRole", "/roles", `{"role":"captain","person":"alice"}`, 422, "must be one of lead, comms"},
		{"AddNote", "/notes", `{"text":"rolled back 1.42"}`, 200, ""},
		{"ErrEmptyNote", "/notes", `{"text":"  "}`, 422, "text is required"},
		{"ErrUnknownSignal", "/signals/contained", `{}`, 422, "engineering incidents take no signal \"contained\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.do(t, "POST", base+tc.path, tc.body)
			require.Equal(t, tc.status, r.status, r.raw)
			if tc.substr != "" {
				require.Contains(t, r.str("error", "message"), tc.substr)
			}
		})
	}
	s.visible(t, `IncidentSeverity="critical" AND IncidentRef="`+ref+`"`, "incident-"+ref)
	got := s.do(t, "GET", base, "")
	require.Equal(t, "critical", got.str("severity"))
	require.Equal(t, "alice", got.str("state", "roles", "lead"))
	tl := s.do(t, "GET", base+"/timeline", "")
	var notes []string
	for _, e := range tl.body["events"].([]any) {
		if ev := e.(map[string]any); ev["kind"] == "note" {
			notes = append(notes, ev["message"].(string))
		}
	}
	require.Equal(t, []string{"rolled back 1.42"}, notes)
}

func TestDeadlinesAcrossIncidents(t *testing.T) {
	s := setup(t)
	aware := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	r := s.declare(t, fmt.Sprintf(`{"type":"privacy","title":"CRM export emailed to a customer","severity":"medium","fields":{"aware_at":%q}}`, aware.Format(time.RFC3339)))
	ref := r.str("ref")
	due := aware.Add(72 * time.Hour)
	var found map[string]any
	require.Eventually(t, func() bool {
		list := s.do(t, "GET", "/v1/deadlines?before="+due.Add(time.Minute).Format(time.RFC3339), "")
		for _, d := range list.body["deadlines"].([]any) {
			if d.(map[string]any)["incident"] == ref {
				found = d.(map[string]any)
				return true
			}
		}
		return false
	}, 20*time.Second, 100*time.Millisecond, "the GDPR clock of %s is listed", ref)
	require.Equal(t, "Notify the supervisory authority (GDPR Art. 33)", found["title"])
	require.Equal(t, due.Format(time.RFC3339), found["due_at"])
	require.Equal(t, "open", found["status"])
	require.Equal(t, ref+"-D1", found["id"])

	before := s.do(t, "GET", "/v1/deadlines?before="+due.Add(-time.Minute).Format(time.RFC3339)+"&status=open", "")
	for _, d := range before.body["deadlines"].([]any) {
		require.NotEqual(t, ref, d.(map[string]any)["incident"], "not due before then")
	}
	sig := s.do(t, "POST", "/v1/incidents/"+ref+"/signals/regulator_notified", `{}`, s.as(t, "dan")...)
	require.Equal(t, http.StatusOK, sig.status, sig.raw)
	require.Eventually(t, func() bool {
		met := s.do(t, "GET", "/v1/deadlines?status=met", "")
		for _, d := range met.body["deadlines"].([]any) {
			if d.(map[string]any)["incident"] == ref {
				return true
			}
		}
		return false
	}, 20*time.Second, 100*time.Millisecond, "the clock is met once the regulator is notified")

	bad := s.do(t, "GET", "/v1/deadlines?before=tomorrow&status=late", "")
	require.Equal(t, http.StatusUnprocessableEntity, bad.status)
	require.Len(t, bad.body["error"].(map[string]any)["details"], 2)
}

func TestProcessesAndValidation(t *testing.T) {
	s := setup(t)
	list := s.do(t, "GET", "/v1/processes", "")
	require.Equal(t, http.StatusOK, list.status)
	require.Len(t, list.body["processes"], 4)
	one := s.do(t, "GET", "/v1/processes/privacy", "")
	require.Equal(t, http.StatusOK, one.status)
	require.Contains(t, one.str("yaml"), "GDPR")

	req, err := http.NewRequest("POST", s.http.URL+"/v1/processes/validate?file=mine.yaml",
		bytes.NewBufferString("process: mine\ntitle: Mine\nseverities: [high]\nsteps:\n  - notify: {to: [channel:legal-emial], message: hi}\n"))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	var v struct {
		Valid  bool     `json:"valid"`
		Report []string `json:"report"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&v))
	require.False(t, v.Valid)
	require.Equal(t, []string{`mine.yaml:5:19: unknown channel "legal-emial"; did you mean "legal-email"?`}, v.Report)
}

func TestAuthentication(t *testing.T) {
	s := setup(t)
	ctx := context.Background()
	service := func(name, role string) string {
		tok, _, err := s.store.CreateToken(ctx, "", incidentflow.Principal{Kind: incidentflow.ServicePrincipal, ID: fmt.Sprintf("%s-%d", name, time.Now().UnixNano()), Role: role})
		require.NoError(t, err)
		return tok
	}
	declarer, viewer := service("alertmanager", incidentflow.RoleDeclarer), service("wallboard", incidentflow.RoleViewer)
	revoked, tok, err := s.store.CreateToken(ctx, "", incidentflow.Principal{Kind: incidentflow.ServicePrincipal, ID: "old", Role: incidentflow.RoleAdmin})
	require.NoError(t, err)
	_, err = s.store.RevokeToken(ctx, tok.ID)
	require.NoError(t, err)
	// A person's token acts with no more than the directory gives them.
	gone, _, err := s.store.CreateToken(ctx, "", incidentflow.Principal{Kind: incidentflow.PersonPrincipal, ID: "mallory", Role: incidentflow.RoleAdmin})
	require.NoError(t, err)
	aliceAdmin, _, err := s.store.CreateToken(ctx, "", incidentflow.Principal{Kind: incidentflow.PersonPrincipal, ID: "alice", Role: incidentflow.RoleAdmin})
	require.NoError(t, err)
	ref := s.declare(t, `{"type":"engineering","title":"Auth test","severity":"minor"}`).str("ref")

	for _, tc := range []struct {
		name, method, path, auth string
		status                   int
		code, substr             string
	}{
		{"ErrNoToken", "GET", "/v1/incidents", "", 401, "unauthorized", "send an API token"},
		{"ErrNotBearer", "GET", "/v1/incidents", "Basic YWxpY2U6c2VjcmV0", 401, "unauthorized", "send an API token"},
		{"ErrUnknownToken", "GET", "/v1/incidents", "Bearer ifl_forged", 401, "unauthorized", "unknown or revoked"},
		{"ErrRevokedToken", "GET", "/v1/incidents", "Bearer " + revoked, 401, "unauthorized", "unknown or revoked"},
		{"ErrPersonNotInDirectory", "GET", "/v1/incidents", "Bearer " + gone, 401, "unauthorized", "mallory is no longer in the directory"},
		{"ErrDeclarerReadsNothing", "GET", "/v1/incidents/" + ref, "Bearer " + declarer, 403, "forbidden", "is a declarer, and this needs the viewer role"},
		{"ViewerReads", "GET", "/v1/incidents/" + ref, "Bearer " + viewer, 200, "", ""},
		{"ErrViewerCannotRespond", "POST", "/v1/incidents/" + ref + "/acknowledge", "Bearer " + viewer, 403, "forbidden", "is a viewer, and this needs the responder role"},
		{"ErrDeclarerCannotRespond", "POST", "/v1/incidents/" + ref + "/acknowledge", "Bearer " + declarer, 403, "forbidden", "this needs the responder role"},
		{"ErrDeclarerCannotValidate", "POST", "/v1/processes/validate", "Bearer " + declarer, 403, "forbidden", "this needs the admin role"},
		{"ErrViewerCannotSendAlerts", "POST", "/v1/alerts/alertmanager?type=engineering", "Bearer " + viewer, 403, "forbidden", "this needs the declarer or responder role"},
		{"ErrDeclarerCannotReview", "POST", "/v1/incidents/" + ref + "/review", "Bearer " + declarer, 403, "forbidden", "this needs the responder role"},
		{"ErrTokenAboveTheDirectory", "GET", "/v1/audit", "Bearer " + aliceAdmin, 403, "forbidden", "Alice Ng is a responder, and this needs the admin role"},
		{"HealthIsOpen", "GET", "/healthz", "", 200, "", ""},
		{"MetricsAreOpen", "GET", "/metrics", "", 200, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, s.http.URL+tc.path, strings.NewReader(`{}`))
			require.NoError(t, err)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer func() { _ = resp.Body.Close() }()
			require.Equal(t, tc.status, resp.StatusCode)
			if tc.code != "" {
				var body struct {
					Error struct{ Code, Message string } `json:"error"`
				}
				require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
				require.Equal(t, tc.code, body.Error.Code)
				require.Contains(t, body.Error.Message, tc.substr)
			}
			if tc.status == 401 {
				require.Contains(t, resp.Header.Get("WWW-Authenticate"), "Bearer")
			}
		})
	}
	t.Run("DeclarerDeclaresInItsName", func(t *testing.T) {
		r := s.do(t, "POST", "/v1/incidents", `{"type":"engineering","title":"From an alert","severity":"minor"}`, "Authorization", "Bearer "+declarer)
		require.Equal(t, http.StatusCreated, r.status, r.raw)
		require.True(t, strings.HasPrefix(r.str("declared_by"), "service:alertmanager-"), r.str("declared_by"))
	})
	t.Run("ErrBodyNamesWhoActs", func(t *testing.T) {
		r := s.do(t, "POST", "/v1/incidents/"+ref+"/acknowledge", `{"by":"alice"}`, s.as(t, "bob")...)
		require.Equal(t, http.StatusBadRequest, r.status, r.raw)
		require.Contains(t, r.str("error", "message"), `unknown field "by"`)
		r = s.do(t, "POST", "/v1/incidents", `{"type":"engineering","title":"x","severity":"minor","declared_by":"alice"}`, s.as(t, "bob")...)
		require.Equal(t, http.StatusBadRequest, r.status, r.raw)
	})
}

// The OpenAPI document and the router describe the same routes.
func TestOpenAPIMatchesTheRouter(t *testing.T) {
	s := setup(t)
	r := s.do(t, "GET", "/v1/openapi.json", "")
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, "3.0.3", r.body["openapi"])
	documented := map[string]bool{}
	for path, ops := range r.body["paths"].(map[string]any) {
		for method := range ops.(map[string]any) {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	served := map[string]bool{}
	param := regexp.MustCompile(`:([a-z]+)`)
	for _, route := range s.server.Handler().(*gin.Engine).Routes() {
		served[route.Method+" "+param.ReplaceAllString(route.Path, "{$1}")] = true
	}
	for route := range served {
		require.True(t, documented[route], "%s is served but not in openapi.json", route)
	}
	for route := range documented {
		require.True(t, served[route], "openapi.json lists %s, which is not served", route)
	}
}

func TestHealth(t *testing.T) {
	s := setup(t)
	require.Equal(t, http.StatusOK, s.do(t, "GET", "/healthz", "").status)
	ready := s.do(t, "GET", "/readyz", "")
	require.Equal(t, http.StatusOK, ready.status, ready.raw)
	s.declare(t, `{"type":"operational","title":"Invoices sent twice","severity":"minor"}`)
	req, err := http.NewRequest("GET", s.http.URL+"/metrics", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, string(body), `incidentflow_incidents_declared_total{severity="minor",type="operational"}`)
	require.Contains(t, string(body), `incidentflow_http_requests_total{method="POST",route="/v1/incidents",status="201"}`)
	require.Contains(t, string(body), `incidentflow_http_request_duration_seconds_bucket{method="GET",route="/healthz"`)

	notFound := s.do(t, "GET", "/v2/nothing", "")
	require.Equal(t, http.StatusNotFound, notFound.status)
	require.Equal(t, "not_found", notFound.str("error", "code"))
}

// resolvedWithWriteUp declares an engineering incident titled title as
// carol, acknowledges and resolves it, and waits for its write-up task,
// whose id it returns with the ref.
func (s *stack) resolvedWithWriteUp(t *testing.T, title string) (ref, task string) {
	t.Helper()
	ref = s.declare(t, `{"type":"engineering","title":"`+title+`","severity":"major","fields":{"service":"search"}}`, s.as(t, "carol")...).str("ref")
	require.Equal(t, http.StatusOK, s.do(t, "POST", "/v1/incidents/"+ref+"/acknowledge", `{}`, s.as(t, "carol")...).status)
	require.Equal(t, http.StatusOK, s.do(t, "POST", "/v1/incidents/"+ref+"/status", `{"status":"resolved"}`, s.as(t, "carol")...).status)
	task = ref + "-T1"
	require.Eventually(t, func() bool {
		r := s.do(t, "GET", "/v1/incidents/"+ref+"/tasks", "")
		return r.status == http.StatusOK && strings.Contains(r.raw, task)
	}, 10*time.Second, 50*time.Millisecond, "the write-up task")
	return ref, task
}
