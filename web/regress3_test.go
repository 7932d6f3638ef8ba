package web

// Holes found by the third round of hostile testing of people, access and
// the web app, each a test of what must hold, on the stack of regress_test.go.

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/api"
	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/store"
)

// A number field takes what strconv.ParseFloat reads, and it reads "NaN",
// "Inf" and "-Inf"; dsl.NormalizeField lets them through, and JSON has no
// such numbers, so recording the incident fails. The declare form answers
// "internal error" (500) instead of naming the field.
func TestNotANumberInTheDeclareFormIsAnInternalError(t *testing.T) {
	h := holeSetup(t)
	s := h.site(t, nil)
	alice := s.browser(t).signIn("alice")
	for _, v := range []string{"NaN", "Inf", "-Inf"} {
		sent := alice.post("/declare/outage", "key", "nan-"+v, "title", "Cost of "+v, "severity", "minor", "field.service", "checkout", "field.cost", v)
		require.Less(t, sent.status, 500, "cost=%s: the form is answered %d %s instead of a message about the field", v, sent.status, problemOf(sent.body))
		if sent.status != http.StatusSeeOther {
			require.Contains(t, problemOf(sent.body), "cost", "cost=%s: the refusal names the field", v)
		}
	}
}

// Alert labels named like a number field fill it through the same
// ParseFloat: one alert with cost="NaN" makes the whole webhook a 500, and
// every notification of its group after it (Alertmanager retries the same
// group) fails the same way, so the other alerts of the group are never
// declared. An alert is never to be lost for a label (alerts.go: "an alert
// is never lost for it").
func TestNotANumberLabelLosesTheAlertGroup(t *testing.T) {
	h := holeSetup(t)
	s := h.site(t, nil)
	tok, _, err := h.store.CreateToken(context.Background(), "", incidentflow.Principal{Kind: incidentflow.ServicePrincipal, ID: "alertmanager", Role: incidentflow.RoleDeclarer})
	require.NoError(t, err)
	nonce := time.Now().Format("150405.000000")
	body := `{"version":"4","status":"firing","alerts":[
 {"status":"firing","fingerprint":"nan-` + nonce + `","labels":{"alertname":"CheckoutCost","incident_type":"outage","service":"checkout","cost":"NaN"}},
 {"status":"firing","fingerprint":"ok-` + nonce + `","labels":{"alertname":"PaymentsDown","incident_type":"outage","service":"payments"}}]}`
	for attempt := range 3 { // Alertmanager sends the group again and again
		req, err := http.NewRequest("POST", s.URL+"/v1/alerts/alertmanager", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		raw, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, "attempt %d: a group with a label cost=\"NaN\" is answered %s, and none of its alerts is taken", attempt+1, raw)
	}
}

// problemOf is the message a page shows in its alert.
func problemOf(page string) string {
	i := strings.Index(page, `role="alert"`)
	if i < 0 {
		return ""
	}
	return page[i:min(len(page), i+300)]
}

// approvalsCatalog is the browser suite's directory with a process whose
// comms role approves twice: the draft of a statement, then publishing it
// to every customer.
func approvalsCatalog(t *testing.T) *dsl.Catalog {
	t.Helper()
	dir, err := os.ReadFile(filepath.Join("e2e", "processes", "directory.yaml"))
	require.NoError(t, err)
	cat, err := dsl.Load(fstest.MapFS{"directory.yaml": {Data: dir}, "statement.yaml": {Data: []byte(`process: statement
title: Public statement
severities: [minor]
roles: [comms]
steps:
  - notify: {to: [person:bob], message: "{{ .Incident.Ref }} waits for your approval: {{ .Links.Approve }}"}
  - id: draft
    approval: {role: comms}
  - id: publish
    approval: {role: comms}
  - id: resolved
    wait: {for: status == "resolved"}
`)}}, "test")
	require.NoError(t, err)
	return cat
}

// waitingApproval waits until the run of ref waits for the approval step.
func waitingApproval(t *testing.T, app *api.Server, ref, step string) {
	t.Helper()
	admin := incidentflow.Principal{Kind: incidentflow.ServicePrincipal, ID: "tests", Role: incidentflow.RoleAdmin}
	require.Eventually(t, func() bool {
		inc, err := app.Incident(context.Background(), admin, ref)
		if err != nil {
			return false
		}
		st, _, err := app.State(context.Background(), inc)
		if err != nil {
			return false
		}
		for _, p := range st.Approvals {
			if p.Step == step && p.By == "" {
				return true
			}
		}
		return false
	}, 15*time.Second, 50*time.Millisecond, "%s waits for %s", ref, step)
}

// An approve link gives only the approvals its message was sent for: the
// one waiting then or, when none waited, the next to begin. Without that,
// the link a message brought bob for the draft (bob approved the draft on
// the incident page instead, and links work for a week) later approved
// publishing, an approval he was never asked for, its page naming nothing.
func TestApproveLinkGivesOnlyWhatItWasSentFor(t *testing.T) {
	h := holeSetup(t)
	cfg := h.config
	cfg.Catalog = approvalsCatalog(t)
	app := api.New(cfg)
	s := h.site(t, func(c *Config) { c.App = app })
	ctx := context.Background()
	alice, err := app.Principal(incidentflow.PersonPrincipal, "alice", incidentflow.RoleResponder)
	require.NoError(t, err)
	bob, err := app.Principal(incidentflow.PersonPrincipal, "bob", incidentflow.RoleResponder)
	require.NoError(t, err)
	// declare declares a statement whose comms is bob, and the approve
	// link the message before its draft brought him.
	declare := func(title string) (string, string) {
		t.Helper()
		inc, _, err := app.DeclareAs(ctx, alice, api.DeclareRequest{Type: "statement", Title: title, Severity: "minor"}, "")
		require.NoError(t, err)
		waitingApproval(t, app, inc.Ref, "draft")
		_, err = app.Act(ctx, alice, inc.Ref, &api.RoleRequest{Role: "comms", Person: "bob"}, "")
		require.NoError(t, err)
		var link string
		require.Eventually(t, func() bool {
			for _, line := range h.console.printed() {
				if m := actLink.FindStringSubmatch(line); m != nil && strings.Contains(line, inc.Ref+" ") {
					link = m[1]
				}
			}
			return link != ""
		}, 10*time.Second, 50*time.Millisecond, "the console printed bob's approve link for %s", inc.Ref)
		return inc.Ref, link
	}

	ref, link := declare("Statement about the outage")
	page := s.browser(t).get("/act/" + link)
	require.Equal(t, http.StatusOK, page.status, problemOf(page.body))
	require.Contains(t, page.body, "<dt>Approves</dt><dd>draft</dd>", "the link's page names what it approves")
	used := s.browser(t).post("/act/"+link, "csrf", "")
	require.Equal(t, http.StatusOK, used.status, problemOf(used.body))
	waitingApproval(t, app, ref, "publish")

	ref, link = declare("Statement about the refunds")
	_, err = app.Act(ctx, bob, ref, &api.ApprovalRequest{Step: "draft"}, "") // on the incident page instead
	require.NoError(t, err)
	waitingApproval(t, app, ref, "publish")
	used = s.browser(t).post("/act/"+link, "csrf", "")
	require.Equal(t, http.StatusConflict, used.status, problemOf(used.body))
	require.Contains(t, used.body, "no longer waits")
	for _, e := range timelineOf(t, h.store, ref) {
		require.False(t, e.Kind == "approved" && strings.HasPrefix(e.Message, "publish"),
			"the approve link sent for the draft approved publishing: %s", e.Message)
	}
}

// actLink finds an action link in a printed message.
var actLink = regexp.MustCompile(`/act/([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)`)

func timelineOf(t *testing.T, st *store.Store, ref string) []incidentflow.TimelineEvent {
	t.Helper()
	events, err := st.Timeline(context.Background(), ref)
	require.NoError(t, err)
	return events
}

// A responder outside the privacy office may declare a breach (only its
// viewers see it afterwards). The web app then sends them to the incident's
// page, which answers "Not found: no incident INC-N", and the flash that
// said it was declared waits for some later page: whoever reports a breach
// is told, right after, that it does not exist, and declares it again.
func TestDeclaringARestrictedIncidentEndsOnNotFound(t *testing.T) {
	h := holeSetup(t)
	s := h.site(t, nil)
	alice := s.browser(t).signIn("alice")
	sent := alice.post("/declare/breach", "key", "breach-by-alice", "title", "Laptop with HR files stolen", "severity", "high")
	require.Equal(t, http.StatusSeeOther, sent.status, problemOf(sent.body))
	next := alice.get(sent.header.Get("Location"))
	require.Equal(t, http.StatusOK, next.status,
		"after declaring alice is shown %d %s: she is told the incident she just declared does not exist", next.status, problemOf(next.body))
	m := regexp.MustCompile(`You declared (INC-[A-Z0-9]+)\. Its process is restricted`).FindStringSubmatch(next.body)
	require.NotNil(t, m, "the page says what was declared, and why it is not shown: %s", problemOf(next.body))
	inc, err := h.store.Incident(context.Background(), m[1])
	require.NoError(t, err)
	require.True(t, inc.Restricted)
	require.Equal(t, "Laptop with HR files stolen", inc.Title)
}

// A form's body is read up to 1 MiB (maxForm) by the CSRF check; a longer
// one fails to parse and is taken for a forgery: the person who pasted a
// long log into a note is told "This form is out of date (or came from
// another site)", and the audit log records them as sending a missing or
// wrong CSRF token. What is too long must be refused as too long.
func TestLongFormIsTakenForAForgery(t *testing.T) {
	h := holeSetup(t)
	s := h.site(t, nil)
	ref := h.outage(t, "A long log pasted into a note")
	alice := s.browser(t).signIn("alice")
	seq := h.lastSeq(t)
	sent := alice.post("/incidents/"+ref+"/notes", "text", strings.Repeat("GET /checkout 502\n", 70_000))
	require.NotContains(t, sent.body, "out of date", "a note of 1.2 MB is answered %d %s", sent.status, problemOf(sent.body))
	for _, e := range h.auditSince(t, seq) {
		require.NotContains(t, e.Detail, "CSRF", "alice's long note is audited as a forgery: %+v", e)
	}
}
