package api_test

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow"
)

func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	require.NoError(t, err)
	return string(b)
}

// results maps each alert's fingerprint to its action and incident.
func results(t *testing.T, r response) map[string][2]string {
	t.Helper()
	require.Equal(t, http.StatusOK, r.status, r.raw)
	out := map[string][2]string{}
	for _, x := range r.body["results"].([]any) {
		m := x.(map[string]any)
		ref, _ := m["ref"].(string)
		out[m["fingerprint"].(string)] = [2]string{m["action"].(string), ref}
	}
	return out
}

func TestAlertmanagerAlerts(t *testing.T) {
	s := setup(t)
	firing := results(t, s.do(t, "POST", "/v1/alerts/alertmanager?type=engineering", fixture(t, "alertmanager-firing.json"), s.service(t, "alertmanager", incidentflow.RoleDeclarer)...))
	errors, latency := firing["4f7b0a2c9d1e3f56"], firing["a91c22e07b3d5f10"]
	require.Equal(t, "declared", errors[0])
	require.Equal(t, "declared", latency[0])
	require.NotEqual(t, errors[1], latency[1], "each fingerprint is its own incident")

	inc := s.do(t, "GET", "/v1/incidents/"+errors[1], "")
	require.Equal(t, "Checkout is failing for customers", inc.str("title"))
	require.Equal(t, "critical", inc.str("severity"), "the severity label, a severity of the process")
	require.Equal(t, "service:alertmanager", inc.str("declared_by"))
	require.Equal(t, "checkout", inc.body["fields"].(map[string]any)["service"], "labels named like fields fill them")
	require.Contains(t, inc.str("summary"), "5xx responses are 12.5%")
	require.Contains(t, inc.str("summary"), "Runbook: https://runbooks.example.com/checkout-errors")
	require.Contains(t, inc.str("summary"), "Source: http://prometheus.example.com:9090/graph")
	minor := s.do(t, "GET", "/v1/incidents/"+latency[1], "")
	require.Equal(t, "minor", minor.str("severity"), "severity=warning is no engineering severity: the lowest")

	// Alertmanager repeats a firing group every repeat_interval, and every
	// peer of an HA pair sends it: the same firings, replayed, are nothing new.
	again := results(t, s.do(t, "POST", "/v1/alerts/alertmanager?type=engineering", fixture(t, "alertmanager-firing.json"), s.service(t, "alertmanager", incidentflow.RoleDeclarer)...))
	require.Equal(t, [2]string{"replayed", errors[1]}, again["4f7b0a2c9d1e3f56"])
	require.Equal(t, [2]string{"replayed", latency[1]}, again["a91c22e07b3d5f10"])

	resolved := results(t, s.do(t, "POST", "/v1/alerts/alertmanager", fixture(t, "alertmanager-resolved.json"), s.service(t, "alertmanager", incidentflow.RoleDeclarer)...))
	require.Equal(t, [2]string{"resolved", errors[1]}, resolved["4f7b0a2c9d1e3f56"])
	require.Equal(t, [2]string{"resolved", latency[1]}, resolved["a91c22e07b3d5f10"])
	// The engineering process resolves a minor incident with its alert and
	// tells the lead of a critical one.
	require.Eventually(t, func() bool {
		return s.do(t, "GET", "/v1/incidents/"+latency[1], "").str("status") == "resolved"
	}, 10*time.Second, 50*time.Millisecond)
	require.Eventually(t, func() bool {
		return len(s.console.containing("The alert behind "+errors[1]+" has resolved")) > 0
	}, 10*time.Second, 50*time.Millisecond)
	require.Equal(t, "investigating", s.do(t, "GET", "/v1/incidents/"+errors[1], "").str("status"))
	events, err := s.store.Timeline(context.Background(), errors[1])
	require.NoError(t, err)
	var signals int
	for _, e := range events {
		if e.Kind == "signal" && strings.Contains(e.Message, "alert_resolved") {
			signals++
		}
	}
	require.Equal(t, 1, signals, "the resolution is on the timeline once")

	// Firing again after its incident was resolved, the alert opens a new one.
	refire := strings.ReplaceAll(fixture(t, "alertmanager-firing.json"), "2026-11-27T09:10:03.5Z", "2026-11-27T11:00:00Z")
	next := results(t, s.do(t, "POST", "/v1/alerts/alertmanager?type=engineering", refire, s.service(t, "alertmanager", incidentflow.RoleDeclarer)...))
	require.Equal(t, "declared", next["a91c22e07b3d5f10"][0])
	require.NotEqual(t, latency[1], next["a91c22e07b3d5f10"][1])
	// The other, with the start it had, is a late repeat of the firing that
	// resolved (an HA peer that has not heard yet): it changes nothing.
	require.Equal(t, [2]string{"ignored", errors[1]}, next["4f7b0a2c9d1e3f56"])
	events, err = s.store.Timeline(context.Background(), errors[1])
	require.NoError(t, err)
	for _, e := range events {
		require.NotContains(t, e.Message, "firing again")
	}
	// Firing anew (a later start) while its incident is open, it joins it.
	anew := strings.ReplaceAll(refire, "2026-11-27T09:12:33.123Z", "2026-11-27T11:05:00Z")
	require.Equal(t, [2]string{"attached", errors[1]}, results(t, s.do(t, "POST", "/v1/alerts/alertmanager?type=engineering", anew,
		s.service(t, "alertmanager", incidentflow.RoleDeclarer)...))["4f7b0a2c9d1e3f56"])
	require.Eventually(t, func() bool {
		events, err := s.store.Timeline(context.Background(), errors[1])
		require.NoError(t, err)
		for _, e := range events {
			if strings.Contains(e.Message, "Alert CheckoutErrorRate is firing again") {
				return true
			}
		}
		return false
	}, 10*time.Second, 50*time.Millisecond)
}

func TestGrafanaAlerts(t *testing.T) {
	s := setup(t)
	got := results(t, s.do(t, "POST", "/v1/alerts/grafana?type=engineering&severity=major", fixture(t, "grafana-firing.json"), s.service(t, "grafana", incidentflow.RoleDeclarer)...))
	disk := got["c6eadffa33fcdf37"]
	require.Equal(t, "declared", disk[0])
	inc := s.do(t, "GET", "/v1/incidents/"+disk[1], "")
	require.Equal(t, "Database disk almost full on db-2", inc.str("title"))
	require.Equal(t, "major", inc.str("severity"), "the query parameter wins")
	require.Equal(t, "service:grafana", inc.str("declared_by"))
	require.Contains(t, inc.str("summary"), "Dashboard: https://grafana.example.com/d/db-overview")
	unknown := strings.ReplaceAll(strings.ReplaceAll(fixture(t, "grafana-firing.json"), `"status": "firing"`, `"status": "resolved"`), "c6eadffa33fcdf37", "0000000000000000")
	require.Equal(t, [2]string{"ignored", ""}, results(t, s.do(t, "POST", "/v1/alerts/grafana", unknown, s.service(t, "grafana", incidentflow.RoleDeclarer)...))["0000000000000000"])
}

func TestAlertsRefuseWhatTheyCannotTake(t *testing.T) {
	s := setup(t)
	before := len(s.do(t, "GET", "/v1/incidents?limit=200", "").body["incidents"].([]any))
	am := fixture(t, "alertmanager-firing.json")
	for _, tc := range []struct {
		name, path, body string
		status           int
		want             string
	}{
		{"NoType", "/v1/alerts/alertmanager", am, 422, "alerts[0].labels.incident_type: no incident type: add ?type=TYPE to the webhook URL"},
		{"UnknownType", "/v1/alerts/alertmanager?type=enginering", am, 422, `the type query parameter names "enginering", which is no incident type; did you mean "engineering"?`},
		{"BadSeverity", "/v1/alerts/alertmanager?type=engineering&severity=p1", am, 422, `the severity query parameter "p1" is not a engineering severity`},
		{"OldVersion", "/v1/alerts/alertmanager?type=engineering", strings.Replace(am, `"version": "4"`, `"version": "3"`, 1), 422, `version must be "4"`},
		{"NoFingerprint", "/v1/alerts/alertmanager?type=engineering", strings.Replace(am, `"fingerprint": "4f7b0a2c9d1e3f56"`, `"fingerprint": ""`, 1), 422, "alerts[0].fingerprint: is required"},
		{"NotJSON", "/v1/alerts/grafana?type=engineering", "{alerts", 400, "is not a grafana webhook payload"},
		{"NUL", "/v1/alerts/alertmanager?type=engineering", strings.Replace(am, "Checkout is failing", `Checkout\u0000is failing`, 1), 400, "NUL character"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.do(t, "POST", tc.path, tc.body)
			require.Equal(t, tc.status, r.status, r.raw)
			require.Contains(t, r.str("error", "message"), tc.want)
		})
	}
	after := len(s.do(t, "GET", "/v1/incidents?limit=200", "").body["incidents"].([]any))
	require.Equal(t, before, after, "nothing refused was declared")
}
