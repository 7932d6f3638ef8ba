package web

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/api"
	"github.com/incidentflow/incidentflow/dsl"
)

// An approve link names approvals by number, but the link's page gives
// them by step label, and every unnamed approval step is labelled
// "approval": bob's link, sent for the main sequence's approval (number
// 1), also gives the handler's approval (number 2) that began since, for
// the same role, which he was never asked for.
func TestApproveLinkGivesAnotherApprovalOfTheSameLabel(t *testing.T) {
	h := holeSetup(t)
	cfg := h.config
	dir, err := os.ReadFile(filepath.Join("e2e", "processes", "directory.yaml"))
	require.NoError(t, err)
	cat, err := dsl.Load(fstest.MapFS{"directory.yaml": {Data: dir}, "twice.yaml": {Data: []byte(`process: twice
title: Two approvals of one label
severities: [minor]
roles: [comms]
signals: [press_asks]
steps:
  - notify: {to: [person:bob], message: "{{ .Incident.Ref }} waits for your approval of the draft: {{ .Links.Approve }}"}
  - approval: {role: comms}
  - wait: {for: status == "resolved"}
on:
  signal:press_asks:
    - approval: {role: comms}
`)}}, "test")
	require.NoError(t, err)
	cfg.Catalog = cat
	app := api.New(cfg)
	s := h.site(t, func(c *Config) { c.App = app })
	ctx := context.Background()
	alice, err := app.Principal(incidentflow.PersonPrincipal, "alice", incidentflow.RoleResponder)
	require.NoError(t, err)
	inc, _, err := app.DeclareAs(ctx, alice, api.DeclareRequest{Type: "twice", Title: "Statement on the outage", Severity: "minor"}, "")
	require.NoError(t, err)
	ref := inc.Ref
	waitingApproval(t, app, ref, "approval")
	_, err = app.Act(ctx, alice, ref, &api.RoleRequest{Role: "comms", Person: "bob"}, "")
	require.NoError(t, err)
	var link string
	require.Eventually(t, func() bool {
		for _, line := range h.console.printed() {
			if m := actLink.FindStringSubmatch(line); m != nil && strings.Contains(line, ref+" ") {
				link = m[1]
			}
		}
		return link != ""
	}, 10*time.Second, 50*time.Millisecond, "the console printed bob's approve link for %s", ref)

	_, err = app.Act(ctx, alice, ref, &api.SignalRequest{Name: "press_asks"}, "")
	require.NoError(t, err)
	admin := incidentflow.Principal{Kind: incidentflow.ServicePrincipal, ID: "tests", Role: incidentflow.RoleAdmin}
	require.Eventually(t, func() bool {
		inc, err := app.Incident(ctx, admin, ref)
		if err != nil {
			return false
		}
		st, _, err := app.State(ctx, inc)
		return err == nil && len(st.Approvals) == 2
	}, 15*time.Second, 50*time.Millisecond, "the handler's approval waits beside the main one")

	used := s.browser(t).post("/act/"+link, "csrf", "")
	require.Equal(t, http.StatusOK, used.status, problemOf(used.body))
	inc, err = app.Incident(ctx, admin, ref)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		st, _, err := app.State(ctx, inc)
		if err != nil {
			return false
		}
		for _, p := range st.Approvals {
			if p.Seq == 1 {
				return false // the main one still waits
			}
		}
		return true
	}, 15*time.Second, 50*time.Millisecond, "the link gave the approval it was sent for")
	st, _, err := app.State(ctx, inc)
	require.NoError(t, err)
	var waiting []int
	for _, p := range st.Approvals {
		if p.By == "" {
			waiting = append(waiting, p.Seq)
		}
	}
	require.Equal(t, []int{2}, waiting, "the handler's approval, which the link was not sent for, still waits")
}
