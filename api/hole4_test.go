package api_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow"
)

// §7: errors never show an internal string, no Go type names. A value of
// the wrong JSON type is answered with encoding/json's reflect type:
// "map[string]interface {}", "float64", "api.DeclareRequest".
func TestWrongTypesAreRefusedInWordsNotGoTypes(t *testing.T) {
	s := setup(t)
	ref := s.declare(t, `{"type":"engineering","title":"Wrong types in words","severity":"minor"}`).str("ref")
	for _, tc := range []struct{ path, body, field string }{
		{"/v1/incidents", `{"type":"engineering","title":"t","severity":"minor","fields":[]}`, "fields"},
		{"/v1/incidents", `{"type":"engineering","title":"t","severity":"minor","fields":"checkout"}`, "fields"},
		{"/v1/incidents", `[{"type":"engineering"}]`, ""},
		{"/v1/incidents", `"an incident"`, ""},
		{"/v1/incidents/" + ref + "/signals/contained", `{"payload":"x"}`, "payload"},
		{"/v1/incidents/" + ref + "/signals/contained", `{"payload":[1,2]}`, "payload"},
	} {
		r := s.do(t, "POST", tc.path, tc.body, s.as(t, "alice")...)
		require.Equal(t, http.StatusBadRequest, r.status, "%s %s: %s", tc.path, tc.body, r.raw)
		msg := r.str("error", "message")
		require.NotRegexp(t, `map\[|interface \{\}|float64|int64|api\.[A-Z]|\[\]`, msg, "%s %s: the message names a Go type", tc.path, tc.body)
		if tc.field != "" {
			require.Contains(t, r.raw, `"field":"`+tc.field+`"`, "%s %s: the detail names the field", tc.path, tc.body)
		}
	}
}

// A number too large for any field (1e400) is refused naming the field it
// was given for, in words; it is answered as "fields" must be float64.
func TestHugeNumberNamesItsField(t *testing.T) {
	s := setup(t)
	r := s.do(t, "POST", "/v1/incidents",
		`{"type":"privacy","title":"Huge number","severity":"low","fields":{"aware_at":"2026-12-01T00:00:00Z","data_subjects":1e400}}`)
	require.Contains(t, []int{http.StatusBadRequest, http.StatusUnprocessableEntity}, r.status, r.raw)
	require.NotContains(t, r.str("error", "message"), "float64", "the message names a Go type")
	require.Contains(t, r.raw, `"field":"fields.data_subjects"`, "the detail names the field: %s", r.raw)
}

// A review's new start that is not a time is refused naming start; it is
// answered "the request body is not a valid JSON object", which it is.
func TestBadRescheduleStartNamesTheField(t *testing.T) {
	s := setup(t)
	ref := s.declare(t, `{"type":"engineering","title":"Bad reschedule","severity":"minor"}`).str("ref")
	for _, body := range []string{`{"start":"next tuesday"}`, `{"start":5}`, `{"start":"2026-12-01T00:00:00+99:00"}`, `{"start":"10000-01-01T00:00:00Z"}`} {
		r := s.do(t, "POST", "/v1/incidents/"+ref+"/review/reschedule", body, s.as(t, "alice")...)
		require.Contains(t, []int{http.StatusBadRequest, http.StatusUnprocessableEntity}, r.status, r.raw)
		require.Contains(t, r.raw, `"field":"start"`, "%s: the refusal names start: %s", body, r.raw)
		require.NotContains(t, r.str("error", "message"), "not a valid JSON object", "%s is a valid JSON object", body)
	}
}

// An alert's fingerprint is no key to a restricted incident for a service
// either: Alertmanager fingerprints are a hash of the alert's labels, so
// any monitoring service that knows the labels can send the same one.
// Another declarer, who may see no restricted incident, learns the ref of
// the breach and writes to its timeline (TestAlertFingerprintsAreNoKeyToRestricted
// only tries a person, whom alert intake refuses outright).
func TestAlertFingerprintsAreNoKeyToRestrictedForServices(t *testing.T) {
	s := setup(t)
	fp := fmt.Sprintf("dlp-svc%d", time.Now().UnixNano())
	aware := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
	alert := func(status string) string {
		return fmt.Sprintf(`{"version":"4","status":%q,"alerts":[{"status":%q,"fingerprint":%q,
			"labels":{"alertname":"DLPExfiltration","incident_type":"privacy","severity":"high","aware_at":%q},
			"annotations":{"summary":"Customer records leaving through the CRM export"}}]}`, status, status, fp, aware)
	}
	declared := s.do(t, "POST", "/v1/alerts/alertmanager", alert("firing"), s.service(t, "alertmanager", incidentflow.RoleDeclarer)...)
	require.Equal(t, http.StatusOK, declared.status, declared.raw)
	ref := declared.body["results"].([]any)[0].(map[string]any)["ref"].(string)
	require.Regexp(t, `^INC-[A-Z]`, ref, "a privacy incident is restricted")

	other := s.service(t, "other-monitor", incidentflow.RoleDeclarer)
	again := s.do(t, "POST", "/v1/alerts/alertmanager", alert("firing"), other...)
	require.NotContains(t, again.raw, ref, "another service's alert names the restricted incident: %s", again.raw)
	resolved := s.do(t, "POST", "/v1/alerts/alertmanager", alert("resolved"), other...)
	require.NotContains(t, resolved.raw, ref, "another service's resolution names the restricted incident: %s", resolved.raw)
	tl := s.do(t, "GET", "/v1/incidents/"+ref+"/timeline", "")
	for _, e := range tl.body["events"].([]any) {
		ev := e.(map[string]any)
		require.NotEqual(t, "service:other-monitor", ev["actor"], "a service that may not see %s wrote to its timeline: %v", ref, ev)
	}
}

// A resolved alert reaches its incident however soon it comes: when the
// incident's run has not started yet (Temporal was away when the alert
// declared it; the reconciler starts it later), tellIncident returns
// nothing to do, the alert is saved as resolved, and the incident never
// hears it: it waits for alert_resolved for ever, and a repeat of the
// resolution says nothing new.
func TestAlertResolvedBeforeTheRunStartsIsNotLost(t *testing.T) {
	s := setup(t)
	ctx := context.Background()
	mon := s.service(t, "alertmanager", incidentflow.RoleDeclarer)
	fp := fmt.Sprintf("early%d", time.Now().UnixNano())
	alert := func(status string) string {
		return fmt.Sprintf(`{"version":"4","status":%q,"alerts":[{"status":%q,"fingerprint":%q,
			"startsAt":"2026-12-01T10:00:00Z","labels":{"alertname":"EarlyResolve","incident_type":"engineering","severity":"minor"}}]}`, status, status, fp)
	}
	s.temporal.failStarts.Store(true)
	fired := s.do(t, "POST", "/v1/alerts/alertmanager", alert("firing"), mon...)
	resolved := s.do(t, "POST", "/v1/alerts/alertmanager", alert("resolved"), mon...)
	s.temporal.failStarts.Store(false)
	require.Equal(t, http.StatusOK, fired.status, fired.raw)
	ref := fired.body["results"].([]any)[0].(map[string]any)["ref"].(string)
	if resolved.status != http.StatusOK {
		// Refusing it, so that Alertmanager retries, is as good as keeping it.
		require.GreaterOrEqual(t, resolved.status, 500, resolved.raw)
		return
	}
	_, err := s.server.Reconcile(ctx, -time.Minute)
	require.NoError(t, err)
	s.requireRunning(t, ref)
	again := s.do(t, "POST", "/v1/alerts/alertmanager", alert("resolved"), mon...) // Alertmanager repeats it
	require.Equal(t, http.StatusOK, again.status, again.raw)
	require.Eventually(t, func() bool { return signals(t, s, ref)+notes(t, s, ref, "EarlyResolve resolved") > 0 },
		10*time.Second, 100*time.Millisecond, "%s never heard its alert resolve", ref)
}

// A resolution sent while its firing is still declaring the incident (a
// flapping alert, or the two peers of an Alertmanager pair) is not lost:
// it finds no alert saved yet, is answered "ignored", and the incident
// waits for alert_resolved for ever.
func TestAlertResolvedWhileItsFiringDeclaresIsNotLost(t *testing.T) {
	s := setup(t)
	mon := s.service(t, "alertmanager", incidentflow.RoleDeclarer)
	alert := func(fp, status string) string {
		return fmt.Sprintf(`{"version":"4","status":%q,"alerts":[{"status":%q,"fingerprint":%q,
			"startsAt":"2026-12-01T10:00:00Z","labels":{"alertname":"Flap","incident_type":"engineering","severity":"minor"}}]}`, status, status, fp)
	}
	for i := range 5 {
		fp := fmt.Sprintf("flap%d-%d", time.Now().UnixNano(), i)
		fired := make(chan response, 1)
		go func() { fired <- s.do(t, "POST", "/v1/alerts/alertmanager", alert(fp, "firing"), mon...) }()
		// Once the firing holds the fingerprint's claim, it is declaring:
		// a resolution that overtakes the firing itself on the wire finds
		// nothing at all, and is ignored.
		require.Eventually(t, func() bool {
			claimed, err := s.store.AlertClaimed(context.Background(), "alertmanager service:alertmanager", fp)
			return err == nil && claimed
		}, 10*time.Second, time.Millisecond)
		resolved := s.do(t, "POST", "/v1/alerts/alertmanager", alert(fp, "resolved"), mon...)
		f := <-fired
		require.Equal(t, http.StatusOK, f.status, f.raw)
		if resolved.status >= 500 {
			continue // refused, so Alertmanager sends it again: not lost
		}
		ref := f.body["results"].([]any)[0].(map[string]any)["ref"].(string)
		action := resolved.body["results"].([]any)[0].(map[string]any)["action"]
		require.NotEqual(t, "ignored", action, "the resolution of %s's alert, sent as it was declared, was dropped: %s", ref, resolved.raw)
		require.Eventually(t, func() bool { return signals(t, s, ref) > 0 }, 10*time.Second, 100*time.Millisecond, "%s never heard its alert resolve", ref)
	}
}

// Changes on a just-declared incident do not fail, also when one of them
// ends it: a decline sent beside an acknowledgement, a severity and a role
// within moments of the declaration is taken or refused (409), never
// answered 503. The run's completion is rejected by Temporal
// (UnhandledCommand: updates arrived as it completed), the workflow task
// fails, and the update it had accepted is answered WorkflowNotReady,
// which the API reports as "Temporal could not deliver the update".
func TestDeclineRightAfterDeclaringDoesNotFail(t *testing.T) {
	s := setup(t)
	var failed []string
	for n := range 8 {
		ref := s.declare(t, fmt.Sprintf(`{"type":"security","title":"Declined at once %d","severity":"critical"}`, n)).str("ref")
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, c := range []struct{ path, body string }{
			{"/acknowledge", `{}`}, {"/status", `{"status":"declined","note":"a false alarm"}`},
			{"/severity", `{"severity":"minor"}`}, {"/roles", `{"role":"lead","person":"bob"}`},
		} {
			wg.Go(func() {
				r := s.do(t, "POST", "/v1/incidents/"+ref+c.path, c.body, s.as(t, "alice")...)
				if r.status >= 500 {
					mu.Lock()
					failed = append(failed, fmt.Sprintf("%s%s %d %s", ref, c.path, r.status, r.raw))
					mu.Unlock()
				}
			})
		}
		wg.Wait()
	}
	require.Empty(t, failed, "changes within moments of declaring failed")
}
