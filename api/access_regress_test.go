package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/api"
	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/links"
	"github.com/incidentflow/incidentflow/processes"
	"github.com/incidentflow/incidentflow/store"
	"github.com/incidentflow/incidentflow/web"
)

// Regression tests for holes hostile testing found in people and access.
// Each states what must hold.

// declarePrivacy declares a privacy incident (restricted to the privacy
// office and the executives) as dan, with headers after his token.
func declarePrivacy(t *testing.T, s *stack, title string, extra ...string) response {
	t.Helper()
	aware := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
	return s.declare(t, fmt.Sprintf(`{"type":"privacy","title":%q,"severity":"low","fields":{"aware_at":%q}}`, title, aware), s.as(t, "dan", extra...)...)
}

// A restricted incident is absent from every count: /metrics, which
// answers anyone without a token, must not count privacy incidents.
func TestMetricsDoNotCountRestrictedTypes(t *testing.T) {
	s := setup(t)
	declarePrivacy(t, s, "Payroll file sent to a supplier")
	resp, err := http.Get(s.http.URL + "/metrics")
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusOK, resp.StatusCode, "no token needed")
	require.NotContains(t, string(body), `type="privacy"`, "anyone can count the privacy incidents declared, by severity")
}

// Idempotency keys belong to their caller, declarations included: another
// caller's key must neither name nor return the incident it declared.
func TestDeclarationKeysBelongToTheirCaller(t *testing.T) {
	s := setup(t)
	key := fmt.Sprintf("dan-%d", time.Now().UnixNano())
	aware := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
	body := fmt.Sprintf(`{"type":"privacy","title":"Patient list on a public share","severity":"low","summary":"names and diagnoses of 212 patients","fields":{"aware_at":%q}}`, aware)
	ref := s.declare(t, body, s.as(t, "dan", "Idempotency-Key", key)...).str("ref")
	require.Equal(t, http.StatusNotFound, s.do(t, "GET", "/v1/incidents/"+ref, "", s.as(t, "erin")...).status, "erin may not see it")

	other := s.do(t, "POST", "/v1/incidents", `{"type":"engineering","title":"x","severity":"minor"}`, s.as(t, "erin", "Idempotency-Key", key)...)
	require.NotContains(t, other.raw, ref, "erin's key names dan's restricted incident: %s", other.raw)

	same := s.do(t, "POST", "/v1/incidents", body, s.as(t, "erin", "Idempotency-Key", key)...)
	require.NotContains(t, same.raw, "212 patients", "erin's replay of dan's key returns dan's restricted incident: %s", same.raw)
}

// Anyone who may declare can take an alert's Idempotency-Key (it is
// alert/SOURCE/FINGERPRINT/gN, and fingerprints are hashes of labels)
// before the alert fires: the real alert must still declare its own
// incident, not join the squatter's.
func TestAlertsCannotBeSquattedByAnIdempotencyKey(t *testing.T) {
	s := setup(t)
	fp := fmt.Sprintf("squat%d", time.Now().UnixNano())
	decoy := s.declare(t, `{"type":"engineering","title":"nothing to see","severity":"minor"}`,
		s.as(t, "erin", "Idempotency-Key", "alert/alertmanager/"+fp+"/g1")...).str("ref")

	alert := fmt.Sprintf(`{"version":"4","status":"firing","alerts":[{"status":"firing","fingerprint":%q,
		"labels":{"alertname":"CredentialStuffing","incident_type":"security","severity":"critical"},
		"annotations":{"summary":"Credential stuffing against the login service"}}]}`, fp)
	r := s.do(t, "POST", "/v1/alerts/alertmanager", alert, s.service(t, "alertmanager", incidentflow.RoleDeclarer)...)
	require.Equal(t, http.StatusOK, r.status, r.raw)
	res := r.body["results"].([]any)[0].(map[string]any)
	require.NotEqual(t, decoy, res["ref"], "the critical security alert joined erin's minor engineering decoy (%v): nobody is paged", res)
	require.Equal(t, "declared", res["action"])
}

// An alert's fingerprint is no key to a restricted incident: a caller who
// may not see the incident an alert declared must not learn its ref, nor
// write to it, by sending the same fingerprint.
func TestAlertFingerprintsAreNoKeyToRestricted(t *testing.T) {
	s := setup(t)
	fp := fmt.Sprintf("dlp%d", time.Now().UnixNano())
	aware := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
	alert := func(status string) string {
		return fmt.Sprintf(`{"version":"4","status":%q,"alerts":[{"status":%q,"fingerprint":%q,
			"labels":{"alertname":"DLPExfiltration","incident_type":"privacy","severity":"high","aware_at":%q},
			"annotations":{"summary":"Customer records leaving through the CRM export"}}]}`, status, status, fp, aware)
	}
	declared := s.do(t, "POST", "/v1/alerts/alertmanager", alert("firing"), s.service(t, "alertmanager", incidentflow.RoleDeclarer)...)
	require.Equal(t, http.StatusOK, declared.status, declared.raw)
	ref := declared.body["results"].([]any)[0].(map[string]any)["ref"].(string)
	require.Equal(t, http.StatusNotFound, s.do(t, "GET", "/v1/incidents/"+ref, "", s.as(t, "erin")...).status, "erin may not see it")

	again := s.do(t, "POST", "/v1/alerts/alertmanager", alert("firing"), s.as(t, "erin")...)
	require.NotContains(t, again.raw, ref, "erin's alert names the restricted incident: %s", again.raw)
	resolved := s.do(t, "POST", "/v1/alerts/alertmanager", alert("resolved"), s.as(t, "erin")...)
	require.NotContains(t, resolved.raw, ref, "erin's resolution names the restricted incident: %s", resolved.raw)
	tl := s.do(t, "GET", "/v1/incidents/"+ref+"/timeline", "")
	for _, e := range tl.body["events"].([]any) {
		ev := e.(map[string]any)
		require.NotEqual(t, "erin", ev["actor"], "erin, who may not see %s, wrote to its timeline: %v", ref, ev)
	}
}

// Every refused or denied attempt is in the audit log: a path parameter
// PostgreSQL cannot store as text (a NUL, invalid UTF-8) must not take the
// attempt out of it.
func TestAuditKeepsOddTargets(t *testing.T) {
	s := setup(t)
	prober := fmt.Sprintf("prober%d", time.Now().UnixNano())
	headers := s.service(t, prober, incidentflow.RoleViewer)
	for _, path := range []string{"/v1/incidents/INC-1/acknowledge", "/v1/incidents/INC-1%00/acknowledge", "/v1/incidents/INC-1%FF/acknowledge"} {
		r := s.do(t, "POST", path, `{}`, headers...)
		require.Equal(t, http.StatusForbidden, r.status, r.raw)
	}
	entries, err := s.store.Audit(context.Background(), 0, 1_000_000)
	require.NoError(t, err)
	n := 0
	for _, e := range entries {
		if e.Principal == "service:"+prober {
			n++
		}
	}
	require.Equal(t, 3, n, "all three denied attempts are audited, not only the first")
}

// linkServer serves the web app's action links over the shared stack,
// signing links as the worker would.
func linkServer(t *testing.T, s *stack) (*httptest.Server, *links.Signer) {
	t.Helper()
	signer, err := links.New([]byte(strings.Repeat("k", links.MinSecret)))
	require.NoError(t, err)
	srv := httptest.NewServer(web.New(web.Config{App: s.server, Store: s.store, Links: signer}).Handler())
	t.Cleanup(srv.Close)
	return srv, signer
}

func postLink(t *testing.T, srv *httptest.Server, token string) (int, string) {
	t.Helper()
	resp, err := http.Post(srv.URL+"/act/"+token, "application/x-www-form-urlencoded", nil)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Every refused use of a link is in the audit log, the link of a person
// who has left the directory and a link to an incident its person may not
// see included.
func TestLinkRefusalsAreAudited(t *testing.T) {
	s := setup(t)
	srv, signer := linkServer(t, s)
	ref := declarePrivacy(t, s, "Leaked HR spreadsheet").str("ref")
	for person, want := range map[string]int{"mallory": http.StatusForbidden, "erin": http.StatusNotFound} { // mallory is no one; erin may not see ref
		code, page := postLink(t, srv, signer.Make(dsl.LinkAcknowledge, ref, "", person, time.Now()))
		require.Equal(t, want, code, page)
	}
	entries, err := s.store.Audit(context.Background(), 0, 1_000_000)
	require.NoError(t, err)
	require.True(t, slices.ContainsFunc(entries, func(e store.AuditEntry) bool {
		return e.Via == "link" && e.Principal == "erin" && e.Target == ref
	}), "erin's refused link on %s is audited", ref)
	require.True(t, slices.ContainsFunc(entries, func(e store.AuditEntry) bool { // vouched for by nobody, as a revoked token
		return e.Via == "link" && e.Principal == "anonymous" && e.Target == ref && strings.HasPrefix(e.Detail, "a link of mallory: ")
	}), "the refused link of mallory, who is no one, on %s is audited", ref)
}

// A link acts on its own incident: a complete link made on one incident
// (its page shows that incident) must not complete a task of another. The
// worker makes such links: a link marker's target is whatever the rendered
// message says, titles included (see cmd/incidentflow TestTitlesCannotInjectActionLinks).
func TestCompleteLinkActsOnItsOwnIncident(t *testing.T) {
	s := setup(t)
	srv, signer := linkServer(t, s)
	shown := s.declare(t, `{"type":"engineering","title":"Harmless looking incident","severity":"minor"}`).str("ref")
	other := s.declare(t, `{"type":"operational","title":"Refund batch sent twice","severity":"minor"}`).str("ref")
	require.Equal(t, http.StatusOK, s.do(t, "POST", "/v1/incidents/"+other+"/roles", `{"role":"owner","person":"alice"}`).status)
	task := other + "-T1"
	require.Eventually(t, func() bool {
		tasks := s.do(t, "GET", "/v1/incidents/"+other+"/tasks", "").body["tasks"].([]any)
		return len(tasks) == 1
	}, 10*time.Second, 50*time.Millisecond, "the correction task")

	code, page := postLink(t, srv, signer.Make(dsl.LinkComplete, shown, task, "alice", time.Now()))
	got, err := s.store.Task(context.Background(), task)
	require.NoError(t, err)
	require.NotEqual(t, "done", got.Status, "a link of %s completed %s (%d): %s", shown, task, code, page)
}

// auditOf returns the audit log's entries that match.
func auditOf(t *testing.T, s *stack, match func(store.AuditEntry) bool) []store.AuditEntry {
	t.Helper()
	entries, err := s.store.Audit(context.Background(), 0, 1_000_000)
	require.NoError(t, err)
	var out []store.AuditEntry
	for _, e := range entries {
		if match(e) {
			out = append(out, e)
		}
	}
	return out
}

// Every read of a restricted incident is audited, the page an action link
// opens (its title, severity and status) included.
func TestLinkPageReadsAreAudited(t *testing.T) {
	s := setup(t)
	srv, signer := linkServer(t, s)
	ref := declarePrivacy(t, s, "Board minutes on a public bucket").str("ref")
	resp, err := http.Get(srv.URL + "/act/" + signer.Make(dsl.LinkAcknowledge, ref, "", "frank", time.Now()))
	require.NoError(t, err)
	page, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.Contains(t, string(page), "Board minutes on a public bucket")
	require.NotEmpty(t, auditOf(t, s, func(e store.AuditEntry) bool { return e.Principal == "frank" && e.Target == ref }),
		"frank read the restricted %s through a link page, unaudited", ref)
}

// The audit log is the tamper-evident record of who did what: an entry
// must say what was done — which incident a declaration made, who was
// given which role — not only the route.
func TestAuditSaysWhatWasDone(t *testing.T) {
	s := setup(t)
	ref := declarePrivacy(t, s, "Audited declaration").str("ref")
	require.NotEmpty(t, auditOf(t, s, func(e store.AuditEntry) bool {
		return e.Principal == "dan" && e.Action == "POST /v1/incidents" && e.Target == ref
	}), "the declaration's entry does not name %s", ref)

	require.Equal(t, http.StatusOK, s.do(t, "POST", "/v1/incidents/"+ref+"/roles", `{"role":"dpo","person":"dan"}`, s.as(t, "frank")...).status)
	assigned := auditOf(t, s, func(e store.AuditEntry) bool {
		return e.Principal == "frank" && e.Action == "POST /v1/incidents/:ref/roles" && e.Target == ref
	})
	require.Len(t, assigned, 1)
	require.Contains(t, assigned[0].Detail, "dan", "the entry does not say frank made dan the DPO: %+v", assigned[0])
}

// A flood of requests without a valid token cannot fill the audit log:
// the first of a minute are written one by one, the rest counted in one
// entry when the minute ends — none unrecorded.
func TestAnonymousRefusalsAreCountedNotFlooded(t *testing.T) {
	s := setup(t)
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	cat, err := dsl.Load(processes.FS, "processes")
	require.NoError(t, err)
	srv := httptest.NewServer(api.New(api.Config{Store: s.store, Temporal: s.temporal, Catalog: cat, Now: clock}).Handler())
	t.Cleanup(srv.Close)
	probe := fmt.Sprintf("FLOOD%d", time.Now().UnixNano())
	get := func(token string) {
		req, err := http.NewRequest("GET", srv.URL+"/v1/incidents/"+probe, nil)
		require.NoError(t, err)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_ = resp.Body.Close()
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	}
	for i := range 250 {
		get(fmt.Sprint("forged-", i%2)) // with a token or without
	}
	one := func(e store.AuditEntry) bool { return e.Principal == "anonymous" && e.Target == probe }
	require.Len(t, auditOf(t, s, one), 60, "the first 60 of the minute, one by one")
	summary := func(e store.AuditEntry) bool {
		return e.Action == "requests without a valid token or session" && strings.Contains(e.Detail, "190 more in the minute from 2026-12-01T09:00:00Z")
	}
	require.Empty(t, auditOf(t, s, summary), "the minute is not over")

	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	get("")
	got := auditOf(t, s, summary)
	require.Len(t, got, 1, "the minute's 190 others, in one entry")
	require.Contains(t, got[0].Detail, "127.0.0.1 ×190")
	require.Len(t, auditOf(t, s, one), 61, "a new minute writes one by one again")
}
