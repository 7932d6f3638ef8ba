package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow"
)

// notification is an Alertmanager notification of n firing alerts of its
// own fingerprints, with the labels each alert gets.
func notification(t *testing.T, prefix string, n int, labels map[string]string) string {
	t.Helper()
	alerts := make([]map[string]any, n)
	for i := range alerts {
		l := map[string]string{"alertname": fmt.Sprintf("Bulk%d", i)}
		for k, v := range labels {
			l[k] = v
		}
		alerts[i] = map[string]any{"status": "firing", "fingerprint": fmt.Sprintf("%s-%d", prefix, i), "labels": l,
			"startsAt": "2026-11-30T10:00:00Z"}
	}
	b, err := json.Marshal(map[string]any{"version": "4", "status": "firing", "receiver": "incidentflow", "alerts": alerts})
	require.NoError(t, err)
	return string(b)
}

// unstarted counts the refs whose incident's run has not started.
func (s *stack) unstarted(t *testing.T, refs map[string]bool) int {
	t.Helper()
	left, err := s.store.UnstartedIncidents(context.Background(), time.Now(), 100000)
	require.NoError(t, err)
	n := 0
	for _, inc := range left {
		if refs[inc.Ref] {
			n++
		}
	}
	return n
}

// waitStarted waits until every ref's run has started, reconciling as the
// API's reconciler does (the test stack runs none) for a start that timed
// out on a busy machine.
func (s *stack) waitStarted(t *testing.T, refs map[string]bool) {
	t.Helper()
	require.Eventually(t, func() bool {
		if s.unstarted(t, refs) == 0 {
			return true
		}
		_, _ = s.server.Reconcile(context.Background(), 30*time.Second)
		return false
	}, 3*time.Minute, 200*time.Millisecond, "every run starts")
}

// A notification of hundreds of alerts is declared in bulk: one incident
// each, every run started (after the answer, if it comes first), and the
// same notification again declares nothing more.
func TestBigNotificationIsDeclaredInBulk(t *testing.T) {
	s := setup(t)
	prefix := fmt.Sprintf("bulk-%d", time.Now().UnixNano())
	body := notification(t, prefix, 200, map[string]string{"severity": "minor"})
	am := s.service(t, "alertmanager", incidentflow.RoleDeclarer)
	got := results(t, s.do(t, "POST", "/v1/alerts/alertmanager?type=engineering", body, am...))
	require.Len(t, got, 200)
	refs := map[string]bool{}
	for fp, r := range got {
		require.Equal(t, "declared", r[0], fp)
		refs[r[1]] = true
	}
	require.Len(t, refs, 200, "one incident each")
	s.waitStarted(t, refs)
	for ref := range refs {
		s.requireRunning(t, ref)
		break
	}

	again := results(t, s.do(t, "POST", "/v1/alerts/alertmanager?type=engineering", body, am...))
	for fp, r := range again {
		require.Equal(t, "replayed", r[0], fp)
		require.True(t, refs[r[1]], "%s joins its incident", fp)
	}
}

// Declared while Temporal cannot start runs, the alerts' incidents are
// recorded and the answer says so; the reconciler starts their runs, and
// their resolutions reach them.
func TestAlertsDeclaredWhileTemporalIsDownStartLater(t *testing.T) {
	s := setup(t)
	ctx := context.Background()
	prefix := fmt.Sprintf("down-%d", time.Now().UnixNano())
	am := s.service(t, "alertmanager", incidentflow.RoleDeclarer)
	s.temporal.failStarts.Store(true)
	got := results(t, s.do(t, "POST", "/v1/alerts/alertmanager?type=engineering", notification(t, prefix, 20, nil), am...))
	s.temporal.failStarts.Store(false)
	refs := map[string]bool{}
	for _, r := range got {
		require.Equal(t, "declared", r[0])
		refs[r[1]] = true
	}
	require.Equal(t, 20, s.unstarted(t, refs), "recorded, not started")

	for s.unstarted(t, refs) > 0 {
		_, err := s.server.Reconcile(ctx, -time.Minute)
		require.NoError(t, err)
	}
	for ref := range refs {
		s.requireRunning(t, ref)
	}
	resolved := fmt.Sprintf(`{"version":"4","status":"resolved","alerts":[{"status":"resolved","fingerprint":"%s-3","labels":{"alertname":"Bulk3"},"startsAt":"2026-11-30T10:00:00Z","endsAt":"2026-11-30T10:30:00Z"}]}`, prefix)
	r := results(t, s.do(t, "POST", "/v1/alerts/alertmanager", resolved, am...))
	require.Equal(t, "resolved", r[prefix+"-3"][0])
}

// An alert that cannot declare its incident (a required field no label
// gives) refuses the whole notification, naming the alert, before anything
// is recorded: the sender's retry, once the alert is mended, declares each
// alert once.
func TestAlertThatCannotDeclareRefusesTheNotification(t *testing.T) {
	s := setup(t)
	prefix := fmt.Sprintf("privacy-%d", time.Now().UnixNano())
	am := s.service(t, "alertmanager", incidentflow.RoleDeclarer)
	body := fmt.Sprintf(`{"version":"4","status":"firing","alerts":[
		{"status":"firing","fingerprint":"%[1]s-0","labels":{"alertname":"Export","aware_at":"2026-11-30T09:00:00Z"}},
		{"status":"firing","fingerprint":"%[1]s-1","labels":{"alertname":"Export"}}]}`, prefix)
	r := s.do(t, "POST", "/v1/alerts/alertmanager?type=privacy", body, am...)
	require.Equal(t, http.StatusUnprocessableEntity, r.status, r.raw)
	require.Contains(t, r.str("error", "message"), "alerts[1]")
	require.Contains(t, r.raw, "alerts[1].fields.aware_at")
	claimed, err := s.store.AlertClaimed(context.Background(), "alertmanager service:alertmanager", prefix+"-0")
	require.NoError(t, err)
	require.False(t, claimed, "nothing was recorded, not even the good alert")
}
