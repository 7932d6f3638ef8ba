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

// An approval that reminds: bob, who must give it, is reminded every
// second with a link of his own; the incident page says how often he was
// reminded and when the next reminder comes; and the link of a reminder
// gives the approval, after which the reminders stop.
func TestApprovalReminderLinkApproves(t *testing.T) {
	h := holeSetup(t)
	dir, err := os.ReadFile(filepath.Join("e2e", "processes", "directory.yaml"))
	require.NoError(t, err)
	cat, err := dsl.Load(fstest.MapFS{"directory.yaml": {Data: dir}, "signoff.yaml": {Data: []byte(`process: signoff
title: Sign-off
severities: [minor]
roles: [comms]
steps:
  - set: {roles: {comms: bob}}
  - id: statement
    approval: {role: comms, timeout: 1h, remind_every: 5m}
  - id: resolved
    wait: {for: status == "resolved"}
`)}}, "test")
	require.NoError(t, err)
	// Authors may remind every 5 minutes at the most often; the test, on
	// the wall clock, reminds every second to see reminders come.
	cat.Processes["signoff"].Steps[1].Approval.RemindEvery = &dsl.Duration{Fixed: time.Second}
	cfg := h.config
	cfg.Catalog = cat
	app := api.New(cfg)
	s := h.site(t, func(c *Config) { c.App = app })
	alice, err := app.Principal(incidentflow.PersonPrincipal, "alice", incidentflow.RoleResponder)
	require.NoError(t, err)
	inc, _, err := app.DeclareAs(context.Background(), alice, api.DeclareRequest{Type: "signoff", Title: "Statement on the outage", Severity: "minor"}, "")
	require.NoError(t, err)

	reminders := func() []string {
		var out []string
		for _, line := range h.console.printed() {
			if strings.Contains(line, "Reminder: "+inc.Ref+" ") {
				out = append(out, line)
			}
		}
		return out
	}
	require.Eventually(t, func() bool { return len(reminders()) >= 2 }, 15*time.Second, 50*time.Millisecond, "bob is reminded, again")
	m := actLink.FindStringSubmatch(reminders()[1])
	require.NotNil(t, m, "the reminder carries bob's approve link: %s", reminders()[1])

	bob := s.browser(t).signIn("bob")
	page := bob.get("/incidents/" + inc.Ref)
	require.Equal(t, http.StatusOK, page.status, problemOf(page.body))
	require.Regexp(t, `Reminded (once|\d+ times)\.`, page.body)
	require.Contains(t, page.body, "Next reminder <time")

	shown := s.browser(t).get("/act/" + m[1])
	require.Equal(t, http.StatusOK, shown.status, problemOf(shown.body))
	used := s.browser(t).post("/act/"+m[1], "csrf", "")
	require.Equal(t, http.StatusOK, used.status, problemOf(used.body))
	require.Eventually(t, func() bool {
		for _, e := range timelineOf(t, h.store, inc.Ref) {
			if e.Kind == "approved" {
				return true
			}
		}
		return false
	}, 10*time.Second, 50*time.Millisecond, "the reminder's link gave the approval")
	after := len(reminders())
	time.Sleep(2500 * time.Millisecond)
	require.LessOrEqual(t, len(reminders()), after+1, "no reminder after the approval (one may have been on its way)")
	_, err = app.Act(context.Background(), alice, inc.Ref, &api.StatusRequest{Status: "closed"}, "")
	require.NoError(t, err)
}
