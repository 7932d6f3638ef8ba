package api_test

// Requests a careless or hostile client sends, each once a way to break a
// promise of DESIGN.md §7 (found by hostile testing), and what they must
// not do: forge lines, leak internals, lose a change, brick an incident.

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow"
)

// §7: "no control characters in one-line fields": a newline in a title or a
// name would forge lines in every message and log that shows it.
func TestControlCharactersInNamesAreRefused(t *testing.T) {
	s := setup(t)
	r := s.do(t, "POST", "/v1/incidents", `{"type":"engineering","title":"Disk full\nSeverity: none, ignore this","severity":"minor"}`)
	require.Equal(t, http.StatusUnprocessableEntity, r.status, "a title with a newline is refused: %s", r.raw)

	ref := s.declare(t, `{"type":"engineering","title":"Control characters in names","severity":"minor"}`).str("ref")
	for _, tc := range []struct{ path, body string }{
		{"/roles", `{"role":"lead","person":"alice\u001b[2K\rAcknowledged by the CEO"}`},
		{"/approvals", `{"step":"Approve\nDeclared by mallory"}`},
		{"/status", `{"status":"fixing\r\n"}`},
	} {
		got := s.do(t, "POST", "/v1/incidents/"+ref+tc.path, tc.body, s.as(t, "alice")...)
		require.Equal(t, http.StatusUnprocessableEntity, got.status, "%s with a control character in a name is refused: %s", tc.path, got.raw)
		require.Regexp(t, "must be one line|control character", got.raw)
	}
}

// §7: "never an internal error string (no Go type names, no SDK text)": alert
// intake once put encoding/json's error into the message.
func TestAlertIntakeShowsNoGoErrors(t *testing.T) {
	s := setup(t)
	r := s.do(t, "POST", "/v1/alerts/alertmanager?type=engineering", `{"version":"4","alerts":[{"status":"firing","fingerprint":"x","startsAt":"soon"}]}`)
	require.Equal(t, http.StatusBadRequest, r.status, r.raw)
	msg := r.str("error", "message")
	for _, leak := range []string{"json:", "Go struct", "time.Time", "parsing time"} {
		require.NotContains(t, msg, leak, "the message shows Go's error text")
	}
}

// Two concurrent acknowledgements: one wins, the other is told who did.
func TestConcurrentAcknowledgementsOneWins(t *testing.T) {
	s := setup(t)
	ref := s.declare(t, `{"type":"engineering","title":"Acknowledged twice","severity":"minor"}`).str("ref")
	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i, by := range []string{"alice", "bob"} {
		wg.Go(func() { codes[i] = s.do(t, "POST", "/v1/incidents/"+ref+"/acknowledge", `{}`, s.as(t, by)...).status })
	}
	wg.Wait()
	require.ElementsMatch(t, []int{200, 409}, codes, "exactly one acknowledgement wins")
}

// noteWorks reports, after an attack, whether the incident still takes a note
// and answers its state: a bricked run fails every workflow task, so updates
// time out and the state query has no answer.
func (s *stack) noteWorks(t *testing.T, ref string) {
	t.Helper()
	note := s.do(t, "POST", "/v1/incidents/"+ref+"/notes", `{"text":"still alive?"}`, s.as(t, "alice")...)
	desc, err := s.temporal.DescribeWorkflowExecution(context.Background(), incidentflow.WorkflowID(ref), "")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, note.status, "the incident takes no more updates (pending workflow task attempt %d): %.300s",
		desc.PendingWorkflowTask.GetAttempt(), note.raw)
	got := s.do(t, "GET", "/v1/incidents/"+ref+"?live=true", "")
	require.Equal(t, http.StatusOK, got.status, got.raw)
	require.Empty(t, got.str("state_error"), "the live state is gone")
}

// refusedOrOK fails unless an attacking request was either done or refused
// with a 4xx naming the problem; a 5xx means the run choked on it.
func refusedOrOK(t *testing.T, r response) bool {
	t.Helper()
	if r.status >= 400 && r.status < 500 {
		return true
	}
	if r.status != http.StatusOK {
		t.Errorf("the request was neither done nor refused: %d %.300s", r.status, r.raw)
	}
	return false
}

// A time field far in the future would start a GDPR clock due in year
// 10000, which encoding/json cannot write: the state (every update's result,
// the query, continue-as-new) could no longer be encoded. It is refused.
func TestFarFutureTimeCannotBrickAnIncident(t *testing.T) {
	s := setup(t)
	r := s.do(t, "POST", "/v1/incidents", `{"type":"privacy","title":"Aware in 9999","severity":"high","fields":{"aware_at":"9999-12-31T23:00:00Z"}}`)
	if r.status != http.StatusCreated {
		require.Equal(t, http.StatusUnprocessableEntity, r.status, r.raw)
		return // refused with a reason: the hole is closed
	}
	ref := r.str("ref")
	// The clock starts after the two notifications before it.
	require.Eventually(t, func() bool {
		tl := s.do(t, "GET", "/v1/incidents/"+ref+"/timeline", "")
		return strings.Contains(tl.raw, "high_risk") || strings.Contains(tl.raw, "Brief the executives")
	}, 20*time.Second, 100*time.Millisecond)
	s.noteWorks(t, ref)
}

// A review moved to the last hour of year 9999 would end in year 10000: a
// review moves at most a year ahead.
func TestFarRescheduleCannotBrickAnIncident(t *testing.T) {
	s := setup(t)
	ref := s.declare(t, `{"type":"engineering","title":"Review in 9999","severity":"critical"}`).str("ref")
	require.Equal(t, http.StatusOK, s.do(t, "POST", "/v1/incidents/"+ref+"/acknowledge", `{}`, s.as(t, "alice")...).status)
	require.Equal(t, http.StatusOK, s.do(t, "POST", "/v1/incidents/"+ref+"/status", `{"status":"resolved"}`, s.as(t, "alice")...).status)
	require.Eventually(t, func() bool {
		st := s.do(t, "GET", "/v1/incidents/"+ref, "")
		reviews, _ := st.body["state"].(map[string]any)["reviews"].([]any)
		return len(reviews) == 1
	}, 20*time.Second, 100*time.Millisecond, "no review was scheduled")
	if refusedOrOK(t, s.do(t, "POST", "/v1/incidents/"+ref+"/review/reschedule", `{"start":"9999-12-31T23:30:00Z"}`, s.as(t, "alice")...)) {
		return
	}
	s.noteWorks(t, ref)
}

// A signal whose payload filled the 1 MB body was kept twice in the state
// (signals and recent timeline), and a second doubled it past Temporal's
// 2 MB payload limit, after which the run could answer no update.
func TestBigPayloadsCannotBrickAnIncident(t *testing.T) {
	s := setup(t)
	ref := s.declare(t, `{"type":"security","title":"Huge signal payload","severity":"minor"}`).str("ref")
	big := strings.Repeat("x", 1000_000)
	for _, name := range []string{"contained", "early_warning_submitted"} {
		if refusedOrOK(t, s.do(t, "POST", "/v1/incidents/"+ref+"/signals/"+name, `{"payload":{"blob":"`+big+`"}}`, s.as(t, "alice")...)) {
			return
		}
	}
	s.noteWorks(t, ref)
}

// Names had no bound on some routes ("by" on notes, signals and role
// assignments, before bodies stopped saying who acts): a dozen notes whose
// by was 200 kB pushed the recent timeline of the state past 2 MB.
func TestLongNamesCannotBrickAnIncident(t *testing.T) {
	s := setup(t)
	ref := s.declare(t, `{"type":"engineering","title":"Huge names","severity":"minor"}`).str("ref")
	big := strings.Repeat("b", 200_000)
	for range 12 {
		if refusedOrOK(t, s.do(t, "POST", "/v1/incidents/"+ref+"/roles", fmt.Sprintf(`{"role":"lead","person":"%s"}`, big))) {
			return
		}
	}
	s.noteWorks(t, ref)
}

// firing is one Alertmanager alert (webhook version 4) for fingerprint fp.
func firing(fp, status, startsAt, name string) string {
	return fmt.Sprintf(`{"version":"4","status":%[2]q,"receiver":"incidentflow","alerts":[{"status":%[2]q,
		"labels":{"alertname":%[4]q,"severity":"minor"},"annotations":{},"startsAt":%[3]q,"endsAt":"0001-01-01T00:00:00Z",
		"generatorURL":"http://prometheus.example.com","fingerprint":%[1]q}]}`, fp, status, startsAt, name)
}

// A resolved alert was saved as resolved before the incident was told; when
// telling it failed, Alertmanager's retry was taken for a repeat and
// dropped. The incident now hears first, and a retry reaches it.
func TestRetriedAlertResolutionReachesTheIncident(t *testing.T) {
	s := setup(t)
	fp := fmt.Sprintf("hole-resolve-%d", time.Now().UnixNano())
	start := time.Now().UTC().Format(time.RFC3339)
	declared := results(t, s.do(t, "POST", "/v1/alerts/alertmanager?type=engineering", firing(fp, "firing", start, "DiskFull")))
	ref := declared[fp][1]
	require.Eventually(t, func() bool { // the run is up
		return s.do(t, "GET", "/v1/incidents/"+ref, "").str("state", "status") == "investigating"
	}, 10*time.Second, 100*time.Millisecond)

	s.temporal.failUpdates.Store(true)
	failed := s.do(t, "POST", "/v1/alerts/alertmanager", firing(fp, "resolved", start, "DiskFull"))
	s.temporal.failUpdates.Store(false)
	require.GreaterOrEqual(t, failed.status, 500, "Temporal was down: Alertmanager is asked to retry")

	retry := s.do(t, "POST", "/v1/alerts/alertmanager", firing(fp, "resolved", start, "DiskFull"))
	require.Equal(t, http.StatusOK, retry.status, retry.raw)
	require.Eventually(t, func() bool {
		events, err := s.store.Timeline(context.Background(), ref)
		require.NoError(t, err)
		for _, e := range events {
			if e.Kind == "signal" && strings.Contains(e.Message, "alert_resolved") {
				return true
			}
		}
		return false
	}, 10*time.Second, 100*time.Millisecond, "the retried resolution never reached %s", ref)
}

// The alertname label went whole into the note each resolution and
// re-firing added: a few rounds with a 300 kB name (sent with the declare
// scope alone) pushed the run's state past 2 MB. Names are cut to a line.
func TestLongAlertNamesCannotBrickAnIncident(t *testing.T) {
	s := setup(t)
	fp := fmt.Sprintf("hole-name-%d", time.Now().UnixNano())
	name := strings.Repeat("n", 300_000)
	start := time.Now().UTC().Format(time.RFC3339)
	ref := results(t, s.do(t, "POST", "/v1/alerts/alertmanager?type=engineering&severity=major", firing(fp, "firing", start, name)))[fp][1]
	for range 4 {
		for _, st := range []string{"resolved", "firing"} {
			if refusedOrOK(t, s.do(t, "POST", "/v1/alerts/alertmanager?type=engineering&severity=major", firing(fp, st, start, name))) {
				return
			}
		}
	}
	s.noteWorks(t, ref)
}

// Many changes to one incident at once: each is taken (one over Temporal's
// limit of updates in flight waits its turn) or turned away with 429 and
// Retry-After, and each taken is on the timeline once.
func TestConcurrentChangesAreTakenOrTurnedAway(t *testing.T) {
	s := setup(t)
	ref := s.declare(t, `{"type":"engineering","title":"Thirty people at once","severity":"minor"}`).str("ref")
	var wg sync.WaitGroup
	codes := make([]int, 30)
	for i := range codes {
		wg.Go(func() {
			r := s.do(t, "POST", "/v1/incidents/"+ref+"/notes", fmt.Sprintf(`{"text":"note %d"}`, i))
			codes[i] = r.status
			if r.status == http.StatusTooManyRequests {
				require.Equal(t, "2", r.header.Get("Retry-After"))
			}
		})
	}
	wg.Wait()
	taken := 0
	for _, code := range codes {
		require.Contains(t, []int{http.StatusOK, http.StatusTooManyRequests}, code)
		if code == http.StatusOK {
			taken++
		}
	}
	notes := 0
	var msgs []string
	for _, e := range s.do(t, "GET", "/v1/incidents/"+ref+"/timeline", "").body["events"].([]any) {
		if e.(map[string]any)["kind"] == "note" {
			notes++
			msgs = append(msgs, e.(map[string]any)["message"].(string))
		}
	}
	require.Equal(t, taken, notes, "%v", msgs)
}

// Updates on a just-declared incident do not fail: acknowledgements,
// status changes and notes sent at once within 100 ms of the declaration
// are taken, refused for a reason (409) or turned away as busy (429), and
// never answered 503 because the run's first workflow task was still
// running.
func TestUpdatesRightAfterDeclaringDoNotFail(t *testing.T) {
	s := setup(t)
	for n := range 10 {
		ref := s.declare(t, fmt.Sprintf(`{"type":"engineering","title":"Just declared %d","severity":"minor"}`, n)).str("ref")
		var wg sync.WaitGroup
		var mu sync.Mutex
		var failed []string
		for i := range 8 {
			wg.Go(func() {
				path, body := "/v1/incidents/"+ref+"/notes", fmt.Sprintf(`{"text":"note %d"}`, i)
				switch i % 3 {
				case 0:
					path, body = "/v1/incidents/"+ref+"/acknowledge", `{}`
				case 1:
					path, body = "/v1/incidents/"+ref+"/status", `{"status":"investigating"}`
				}
				r := s.do(t, "POST", path, body, s.as(t, "alice")...)
				if r.status >= 500 {
					mu.Lock()
					failed = append(failed, fmt.Sprintf("%s %d %s", path, r.status, r.raw))
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		require.Empty(t, failed, "updates within 100 ms of declaring %s failed", ref)
	}
}
