package api_test

// Holes found by hostile testing of people and access, each a test that
// states what must hold.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/api"
)

// A restricted incident is absent from every count, and /metrics answers
// anyone without a token. The API's own declarations count a restricted
// incident without its type or severity (countDeclared); a declaration
// through the web app's form (DeclareAs) counts it by both, so anyone can
// watch incidentflow_incidents_declared_total{type="privacy",severity="high"} go up.
func TestWebDeclarationsOfRestrictedIncidentsShowOnMetrics(t *testing.T) {
	s := setup(t)
	reg := prometheus.NewRegistry() // a replica of its own, to count only this test's declaration
	srv := api.New(api.Config{Store: s.store, Temporal: s.temporal, Catalog: s.server.Catalog(), BaseURL: s.http.URL,
		UIURL: "http://127.0.0.1:8233", Namespace: "default", Metrics: reg})
	dan, err := srv.Principal(incidentflow.PersonPrincipal, "dan", incidentflow.RoleResponder)
	require.NoError(t, err)
	aware := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
	_, created, err := srv.DeclareAs(context.Background(), dan, api.DeclareRequest{Type: "privacy", Title: "Customer list mailed to the wrong supplier",
		Severity: "high", Fields: map[string]any{"aware_at": aware}}, fmt.Sprintf("web:dan:%d", time.Now().UnixNano()))
	require.NoError(t, err)
	require.True(t, created)

	h := httptest.NewServer(srv.Handler())
	defer h.Close()
	resp, err := http.Get(h.URL + "/metrics")
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusOK, resp.StatusCode, "no token needed")
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "incidentflow_incidents_declared_total") {
			require.NotContains(t, line, `type="privacy"`, "anyone can count the privacy incidents declared through the web app, by severity: %s", line)
		}
	}
}

// "To anyone else it does not exist (404, absent from every list and
// count)." Refs are numbered from one sequence for every incident, so the
// refs a person sees count the restricted incidents they do not: alice
// declares two incidents a minute apart, finds the refs between them
// missing from her list and answering 404, and knows that many incidents
// she may not see were declared in that minute.
func TestRefNumbersCountRestrictedIncidents(t *testing.T) {
	s := setup(t)
	first := s.declare(t, `{"type":"engineering","title":"Search is slow","severity":"minor"}`, s.as(t, "alice")...).str("ref")
	declarePrivacy(t, s, "Payslips sent to the wrong team")
	second := s.declare(t, `{"type":"engineering","title":"Search is slow again","severity":"minor"}`, s.as(t, "alice")...).str("ref")
	a, err := strconv.Atoi(strings.TrimPrefix(first, "INC-"))
	require.NoError(t, err)
	b, err := strconv.Atoi(strings.TrimPrefix(second, "INC-"))
	require.NoError(t, err)
	var hidden []string
	for n := a + 1; n < b; n++ {
		ref := "INC-" + strconv.Itoa(n)
		if got := s.do(t, "GET", "/v1/incidents/"+ref, "", s.as(t, "alice")...); got.status == http.StatusNotFound {
			hidden = append(hidden, ref)
		}
	}
	require.Empty(t, hidden, "alice declared %s and %s; the refs between them, %v, exist for someone else: their count is the count of incidents she may not see",
		first, second, hidden)
}
