package api_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/api"
	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/processes"
	"github.com/incidentflow/incidentflow/store"
	"github.com/incidentflow/incidentflow/store/storetest"
)

// replica is a second API beside the shared stack's: its own router and
// metrics over a store and a Temporal client of the test's choosing.
type replica struct {
	server  *api.Server
	http    *httptest.Server
	metrics *prometheus.Registry
}

func newReplica(t *testing.T, st api.Store, tc client.Client, cat *dsl.Catalog) *replica {
	t.Helper()
	r := &replica{metrics: prometheus.NewRegistry()}
	r.http = httptest.NewServer(nil)
	t.Cleanup(r.http.Close)
	r.server = api.New(api.Config{Store: st, Temporal: tc, Catalog: cat, BaseURL: r.http.URL,
		UIURL: "http://127.0.0.1:8233", Namespace: "default", Metrics: r.metrics})
	r.http.Config.Handler = r.server.Handler()
	return r
}

// post sends a request to the replica; it may be called from any goroutine.
func (r *replica) post(path, body, token string) (int, string, error) {
	req, err := http.NewRequest("POST", r.http.URL+path, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw), err
}

// declaredCount is the replica's incidentflow_incidents_declared_total for
// a type and severity.
func (r *replica) declaredCount(t *testing.T, typ, severity string) int {
	t.Helper()
	resp, err := http.Get(r.http.URL + "/metrics")
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	prefix := fmt.Sprintf(`incidentflow_incidents_declared_total{severity=%q,type=%q} `, severity, typ)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			n, err := strconv.ParseFloat(v, 64)
			require.NoError(t, err)
			return int(n)
		}
	}
	return 0
}

// refusingTemporal is Temporal refusing every start, so that a replica with
// a database of its own never hands the shared worker a run of an incident
// the shared store does not hold.
type refusingTemporal struct{ client.Client }

func (refusingTemporal) ExecuteWorkflow(context.Context, client.StartWorkflowOptions, any, ...any) (client.WorkflowRun, error) {
	return nil, errors.New("connection refused")
}

// ownDatabase is a fresh, migrated PostgreSQL store and a plain connection
// to the same database, for what the test does beside the API.
func ownDatabase(t *testing.T) (*store.Store, *sql.DB, string) {
	t.Helper()
	ctx := context.Background()
	url := storetest.URL(t, store.Postgres)
	st, err := store.Open(ctx, url)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	_, err = st.Migrate(ctx)
	require.NoError(t, err)
	st.SetAuditKey(store.AuditKey([]byte(testSecret)))
	raw, err := sql.Open("postgres", url)
	require.NoError(t, err)
	t.Cleanup(func() { _ = raw.Close() })
	tok, _, err := st.CreateToken(ctx, "", incidentflow.Principal{Kind: incidentflow.ServicePrincipal, ID: "alertmanager", Role: incidentflow.RoleDeclarer})
	require.NoError(t, err)
	return st, raw, tok
}

// A notification of alerts that only join their open incidents declares
// nothing, so it is not refused for what a declaration would need. Here the
// engineering process gains a required field after two alerts declared
// their incidents (a new version deployed); the group's next notification
// carries one alert still firing and the other's resolution. Refusing it
// (422) holds the resolution back for as long as the other alert fires:
// Alertmanager sends the group again every group_interval and is refused
// each time, and the incident does not hear its alert resolved. Before the
// bulk intake the joining alert was never checked as a declaration.
func TestAlertJoiningItsOpenIncidentIsNotRefusedWhenItsProcessGainsARequiredField(t *testing.T) {
	s := setup(t)
	prefix := fmt.Sprintf("redeploy-%d", time.Now().UnixNano())
	am := s.service(t, "alertmanager", incidentflow.RoleDeclarer)
	firing := notification(t, prefix, 2, map[string]string{"severity": "major"})
	got := results(t, s.do(t, "POST", "/v1/alerts/alertmanager?type=engineering", firing, am...))
	refs := map[string]bool{}
	for _, r := range got {
		require.Equal(t, "declared", r[0])
		refs[r[1]] = true
	}
	s.waitStarted(t, refs)

	files := fstest.MapFS{}
	entries, err := fs.ReadDir(processes.FS, ".")
	require.NoError(t, err)
	for _, e := range entries {
		b, err := fs.ReadFile(processes.FS, e.Name())
		require.NoError(t, err)
		if e.Name() == "engineering.yaml" {
			line := "  service: {type: string, description: The service that is down or degraded}\n"
			require.Contains(t, string(b), line)
			b = []byte(strings.Replace(string(b), line, line+"  owner_team: {type: string, required: true, description: The team that owns the service}\n", 1))
		}
		files[e.Name()] = &fstest.MapFile{Data: b}
	}
	cat, err := dsl.Load(files, ".")
	require.NoError(t, err)
	next := newReplica(t, s.store, s.temporal, cat)

	body := fmt.Sprintf(`{"version":"4","status":"firing","alerts":[
		{"status":"resolved","fingerprint":"%[1]s-0","labels":{"alertname":"Bulk0","severity":"major"},"startsAt":"2026-11-30T10:00:00Z","endsAt":"2026-11-30T10:30:00Z"},
		{"status":"firing","fingerprint":"%[1]s-1","labels":{"alertname":"Bulk1","severity":"major"},"startsAt":"2026-11-30T10:00:00Z"}]}`, prefix)
	status, raw, err := next.post("/v1/alerts/alertmanager?type=engineering", body, strings.TrimPrefix(am[1], "Bearer "))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status, "the notification declares nothing, yet is refused, and the resolution of %s-0 with it: %s", prefix, raw)
}

// A notification whose runs could not start says so: runs_starting counts
// the declared incidents whose runs had not started when it answered,
// "their runs go on starting after the answer, or the reconciler starts
// them". With Temporal refusing every start, each start fails at once, the
// count drops to none, and the answer reads as if every run had started.
func TestAlertsAnswerCountsTheRunsThatDidNotStart(t *testing.T) {
	s := setup(t)
	ctx := context.Background()
	prefix := fmt.Sprintf("nostart-%d", time.Now().UnixNano())
	am := s.service(t, "alertmanager", incidentflow.RoleDeclarer)
	s.temporal.failStarts.Store(true)
	r := s.do(t, "POST", "/v1/alerts/alertmanager?type=engineering", notification(t, prefix, 3, nil), am...)
	s.temporal.failStarts.Store(false)
	got := results(t, r)
	refs := map[string]bool{}
	for _, x := range got {
		require.Equal(t, "declared", x[0])
		refs[x[1]] = true
	}
	defer func() {
		for s.unstarted(t, refs) > 0 {
			_, err := s.server.Reconcile(ctx, -time.Minute)
			require.NoError(t, err)
		}
	}()
	require.Equal(t, 3, s.unstarted(t, refs), "no run started")
	require.EqualValues(t, 3, r.body["runs_starting"], "the answer hides that none of the three runs has started: %s", r.raw)
}

// "A resolution that arrives while its incident is still being declared
// ... is answered 503 so that Alertmanager sends it again." The firing
// alert's claim, incident and alert are now written in one transaction,
// so while that transaction is open the resolution finds neither the alert
// nor its claim, is answered 200 "ignored", and is never sent again: the
// incident the firing then declares stays open with its alert firing.
// The test holds the declaring transaction open by holding, from outside,
// the claim of the notification's second alert.
func TestResolutionWhileItsFiringIsBeingDeclaredIsAnswered503(t *testing.T) {
	s := setup(t)
	ctx := context.Background()
	st, raw, tok := ownDatabase(t)
	r := newReplica(t, st, refusingTemporal{s.temporal}, s.server.Catalog())
	scope := "alertmanager service:alertmanager"

	hold, err := raw.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer func() { _ = hold.Rollback() }()
	_, err = hold.ExecContext(ctx, `INSERT INTO alert_claims (source, fingerprint, generation, incident_ref, claimed_at) VALUES ($1, 'held', 1, NULL, now())`, scope)
	require.NoError(t, err)

	type answer struct {
		status int
		raw    string
		err    error
	}
	firing := make(chan answer, 1)
	go func() {
		status, body, err := r.post("/v1/alerts/alertmanager?type=engineering", `{"version":"4","status":"firing","alerts":[
			{"status":"firing","fingerprint":"racing","labels":{"alertname":"Racing"},"startsAt":"2026-11-30T10:00:00Z"},
			{"status":"firing","fingerprint":"held","labels":{"alertname":"Held"},"startsAt":"2026-11-30T10:00:00Z"}]}`, tok)
		firing <- answer{status, body, err}
	}()
	require.Eventually(t, func() bool {
		var n int
		err := raw.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n)
		return err == nil && n > 0
	}, 20*time.Second, 20*time.Millisecond, "the declaration waits on the held claim, having written the racing alert's")

	status, resolved, err := r.post("/v1/alerts/alertmanager", `{"version":"4","status":"resolved","alerts":[
		{"status":"resolved","fingerprint":"racing","labels":{"alertname":"Racing"},"startsAt":"2026-11-30T10:00:00Z","endsAt":"2026-11-30T10:05:00Z"}]}`, tok)
	require.NoError(t, err)
	require.NoError(t, hold.Rollback())
	a := <-firing
	require.NoError(t, a.err)
	require.Equal(t, http.StatusOK, a.status, a.raw)
	require.Contains(t, a.raw, `"action":"declared"`)
	require.Equal(t, http.StatusServiceUnavailable, status, "the resolution of an alert being declared is dropped, not sent again: %s", resolved)
}

// blockingTemporal holds every start until released, as a slow Temporal
// does, and counts how many it holds.
type blockingTemporal struct {
	client.Client
	release  chan struct{}
	inflight atomic.Int64
}

func (b *blockingTemporal) ExecuteWorkflow(ctx context.Context, o client.StartWorkflowOptions, w any, args ...any) (client.WorkflowRun, error) {
	b.inflight.Add(1)
	defer b.inflight.Add(-1)
	select {
	case <-b.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return b.Client.ExecuteWorkflow(ctx, o, w, args...)
}

// The runs a notification starts behind its answer are started by a bounded
// number of goroutines for the whole API, not sixteen more for every
// notification. While Temporal is slow, each notification answers after
// two seconds and leaves its sixteen starters running (each start may take
// its full ten seconds), so a sender that sends its next notification once
// answered piles up goroutines and starts on a Temporal already
// struggling, with nothing to bound them or wait for them at shutdown.
// Before the bulk intake a notification's starts ended with its request.
func TestRunStartsBehindTheAnswerAreBoundedAcrossNotifications(t *testing.T) {
	s := setup(t)
	ctx := context.Background()
	slow := &blockingTemporal{Client: s.temporal, release: make(chan struct{})}
	r := newReplica(t, s.store, slow, s.server.Catalog())
	am := s.service(t, "alertmanager", incidentflow.RoleDeclarer)
	tok := strings.TrimPrefix(am[1], "Bearer ")
	prefix := fmt.Sprintf("slow-%d", time.Now().UnixNano())

	refs := map[string]bool{}
	defer func() {
		close(slow.release)
		require.Eventually(t, func() bool {
			if _, err := s.server.Reconcile(ctx, -time.Minute); err != nil {
				return false
			}
			return s.unstarted(t, refs) == 0
		}, 2*time.Minute, 200*time.Millisecond)
	}()
	for n := range 3 {
		status, body, err := r.post("/v1/alerts/alertmanager?type=engineering", notification(t, fmt.Sprintf("%s-%d", prefix, n), 17, nil), tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status, body)
		for _, ref := range strings.Split(body, `"ref":"`)[1:] {
			refs[ref[:strings.IndexByte(ref, '"')]] = true
		}
	}
	require.LessOrEqual(t, slow.inflight.Load(), int64(16), "starts still running behind three notifications, each answered")
}

// The reconciler is the backstop for every run a notification could not
// start: once Temporal is back, one pass starts them all. It starts 100 a
// pass, and passes come every 15 s, so the runs of a notification of 5,000
// alerts declared while Temporal was away start over 12 minutes, and the
// last of them pages that late.
func TestReconcilerStartsEveryRunANotificationLeft(t *testing.T) {
	s := setup(t)
	ctx := context.Background()
	prefix := fmt.Sprintf("backlog-%d", time.Now().UnixNano())
	am := s.service(t, "alertmanager", incidentflow.RoleDeclarer)
	s.temporal.failStarts.Store(true)
	got := results(t, s.do(t, "POST", "/v1/alerts/alertmanager?type=engineering", notification(t, prefix, 120, nil), am...))
	s.temporal.failStarts.Store(false)
	refs := map[string]bool{}
	for _, r := range got {
		refs[r[1]] = true
	}
	require.Equal(t, 120, s.unstarted(t, refs))
	defer func() {
		for s.unstarted(t, refs) > 0 {
			_, err := s.server.Reconcile(ctx, -time.Minute)
			require.NoError(t, err)
		}
	}()
	_, err := s.server.Reconcile(ctx, -time.Minute)
	require.NoError(t, err)
	require.Zero(t, s.unstarted(t, refs), "runs one reconciler pass left unstarted")
}

// A notification that fails part-way (here the database refuses its 256th
// alert, in its second transaction of 250) has recorded the first 250
// incidents all the same; the sender's retry finds them declared and
// reports them "replayed", and nothing ever counts them in
// incidentflow_incidents_declared_total. Every incident the notification
// and its retry declared is counted once.
func TestRetriedNotificationCountsTheIncidentsItsFailedAttemptRecorded(t *testing.T) {
	s := setup(t)
	ctx := context.Background()
	st, raw, tok := ownDatabase(t)
	r := newReplica(t, st, refusingTemporal{s.temporal}, s.server.Catalog())
	_, err := raw.ExecContext(ctx, `CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN IF NEW.fingerprint LIKE 'poison%' THEN RAISE EXCEPTION 'the disk is full'; END IF; RETURN NEW; END $$;
		CREATE TRIGGER refuse_poison BEFORE INSERT ON alert_claims FOR EACH ROW EXECUTE FUNCTION refuse_poison()`)
	require.NoError(t, err)
	body := strings.Replace(notification(t, "fp", 260, map[string]string{"severity": "minor"}), `"fp-255"`, `"poison-255"`, 1)

	status, first, err := r.post("/v1/alerts/alertmanager?type=engineering", body, tok)
	require.NoError(t, err)
	require.GreaterOrEqual(t, status, 500, first)
	_, err = raw.ExecContext(ctx, `DROP TRIGGER refuse_poison ON alert_claims`)
	require.NoError(t, err)
	status, again, err := r.post("/v1/alerts/alertmanager?type=engineering", body, tok)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status, again)

	recorded, err := st.UnstartedIncidents(ctx, time.Now().Add(time.Hour), 1000)
	require.NoError(t, err)
	require.Len(t, recorded, 260)
	require.Equal(t, 260, r.declaredCount(t, "engineering", "minor"),
		"incidents declared, as counted; the retry says %d declared", strings.Count(again, `"action":"declared"`))
}
