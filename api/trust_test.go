package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Every request body is read strictly: what encoding/json would let
// through silently is refused with a message that names it.
func TestStrictRequestBodies(t *testing.T) {
	s := setup(t)
	ref := s.declare(t, `{"type":"operational","title":"Strict bodies","severity":"minor"}`).str("ref")
	deep := strings.Repeat(`{"a":`, 20) + `1` + strings.Repeat(`}`, 20)
	for _, tc := range []struct {
		name, path, body string
		status           int
		want             string
	}{
		{"ErrDuplicateKey", "/v1/incidents", `{"type":"operational","title":"a","severity":"minor","title":"b"}`, 400, `the key "title" is given twice in one object`},
		{"ErrKeyInAnotherCase", "/v1/incidents", `{"type":"operational","title":"a","Title":"b","severity":"minor"}`, 400, `unknown field "Title": write it "title"`},
		{"ErrOnlyKeyInAnotherCase", "/v1/incidents", `{"type":"operational","TITLE":"a","severity":"minor"}`, 400, `unknown field "TITLE"`},
		{"ErrDuplicateNestedKey", "/v1/incidents/" + ref + "/signals/x", `{"payload":{"a":1,"a":2}}`, 400, `the key "a" is given twice`},
		{"ErrInvalidUTF8", "/v1/incidents", "{\"type\":\"operational\",\"title\":\"caf\xe9\",\"severity\":\"minor\"}", 400, "not valid UTF-8 text (at byte 34)"},
		{"ErrTooDeep", "/v1/incidents/" + ref + "/notes", `{"text":"x","payload":` + deep + `}`, 400, "nests objects and lists more than 16 deep"},
		{"ErrLineBreakInTitle", "/v1/incidents", `{"type":"operational","title":"one\ntwo","severity":"minor"}`, 422, "title must be one line"},
		{"ErrControlInTitle", "/v1/incidents", `{"type":"operational","title":"bell\u0007","severity":"minor"}`, 422, "title holds the invisible control character U+0007"},
		{"ErrBidiInTitle", "/v1/incidents", `{"type":"operational","title":"alice\u202e","severity":"minor"}`, 422, "title holds the invisible control character U+202E"},
		{"ErrTitleTooLong", "/v1/incidents", `{"type":"operational","title":"` + strings.Repeat("é", 201) + `","severity":"minor"}`, 422, "title is 201 characters long; at most 200 are taken"},
		{"ErrNoteTooLong", "/v1/incidents/" + ref + "/notes", `{"text":"` + strings.Repeat("x", 10_001) + `"}`, 422, "text is 10001 characters long; at most 10000 are taken"},
		{"ErrPayloadTooBig", "/v1/incidents/" + ref + "/signals/x", `{"payload":{"blob":"` + strings.Repeat("x", 5000) + `"}}`, 422, "payload is 5011 bytes of JSON; at most 4096 are taken"},
		{"ErrFieldTooLong", "/v1/incidents", `{"type":"engineering","title":"a","severity":"minor","fields":{"service":"` + strings.Repeat("x", 1001) + `"}}`, 422, "fields.service is longer than 1000 characters"},
		{"ErrRescheduleTooFar", "/v1/incidents/" + ref + "/review/reschedule", `{"start":"9999-12-31T10:00:00Z"}`, 422, "start must be within a year"},
		{"ErrBadIdempotencyKey", "/v1/incidents", `{"type":"operational","title":"a","severity":"minor"}`, 400, "the Idempotency-Key header is 256 characters long; at most 255 are taken"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var headers []string
			if tc.name == "ErrBadIdempotencyKey" {
				headers = []string{"Idempotency-Key", strings.Repeat("k", 256)}
			}
			r := s.do(t, "POST", tc.path, tc.body, headers...)
			require.Equal(t, tc.status, r.status, r.raw)
			require.Contains(t, r.str("error", "message"), tc.want)
		})
	}
}

// The Idempotency-Key of a declaration covers the whole request: the same
// key with other fields or another summary is refused, not answered with
// the first incident.
func TestIdempotencyKeyCoversTheWholeDeclaration(t *testing.T) {
	s := setup(t)
	key := fmt.Sprintf("whole-%d", time.Now().UnixNano())
	body := `{"type":"engineering","title":"Checkout is down","severity":"major","fields":{"service":"checkout"}}`
	first := s.declare(t, body, "Idempotency-Key", key)
	same := s.do(t, "POST", "/v1/incidents", body, "Idempotency-Key", key)
	require.Equal(t, http.StatusOK, same.status, same.raw)
	require.Equal(t, first.str("ref"), same.str("ref"))
	// The same request written differently is the same request.
	reordered := s.do(t, "POST", "/v1/incidents", `{"fields":{"service":"checkout"},"severity":"major","title":" Checkout is down ","type":"engineering"}`, "Idempotency-Key", key)
	require.Equal(t, http.StatusOK, reordered.status, reordered.raw)
	for _, other := range []string{
		`{"type":"engineering","title":"Checkout is down","severity":"major","fields":{"service":"payments"}}`,
		`{"type":"engineering","title":"Checkout is down","severity":"major","fields":{"service":"checkout"},"summary":"another one"}`,
	} {
		r := s.do(t, "POST", "/v1/incidents", other, "Idempotency-Key", key)
		require.Equal(t, http.StatusUnprocessableEntity, r.status, r.raw)
		require.Contains(t, r.str("error", "message"), "was already used to declare "+first.str("ref"))
	}
}

// An update sent with an Idempotency-Key happens once: a retry gets the
// first answer, the same key on another request is refused.
func TestIdempotentUpdates(t *testing.T) {
	s := setup(t)
	ref := s.declare(t, `{"type":"operational","title":"Idempotent updates","severity":"minor"}`).str("ref")
	key := fmt.Sprintf("upd-%d", time.Now().UnixNano())
	note := `{"text":"called the bank"}`
	first := s.do(t, "POST", "/v1/incidents/"+ref+"/notes", note, "Idempotency-Key", key)
	require.Equal(t, http.StatusOK, first.status, first.raw)
	again := s.do(t, "POST", "/v1/incidents/"+ref+"/notes", note, "Idempotency-Key", key)
	require.Equal(t, http.StatusOK, again.status, again.raw)
	require.Equal(t, "true", again.header.Get("Idempotent-Replayed"))
	require.JSONEq(t, first.raw, again.raw, "the first answer, again")

	other := s.do(t, "POST", "/v1/incidents/"+ref+"/acknowledge", `{}`, "Idempotency-Key", key)
	require.Equal(t, http.StatusUnprocessableEntity, other.status, other.raw)
	require.Contains(t, other.str("error", "message"), "was already used for another request (POST /v1/incidents/"+ref+"/notes)")
	// Keys belong to their caller: alice's key of the same name is hers.
	hers := s.do(t, "POST", "/v1/incidents/"+ref+"/notes", `{"text":"alice's note"}`, s.as(t, "alice", "Idempotency-Key", key)...)
	require.Equal(t, http.StatusOK, hers.status, hers.raw)
	require.Empty(t, hers.header.Get("Idempotent-Replayed"))

	notes := 0
	for _, e := range s.do(t, "GET", "/v1/incidents/"+ref+"/timeline", "").body["events"].([]any) {
		if e.(map[string]any)["message"] == "called the bank" {
			notes++
		}
	}
	require.Equal(t, 1, notes, "the note was added once")

	// A refusal is an answer too: the retry gets the same one.
	ackKey := key + "-ack"
	require.Equal(t, http.StatusOK, s.do(t, "POST", "/v1/incidents/"+ref+"/acknowledge", `{}`, s.as(t, "bob")...).status)
	refused := s.do(t, "POST", "/v1/incidents/"+ref+"/acknowledge", `{}`, s.as(t, "alice", "Idempotency-Key", ackKey)...)
	require.Equal(t, http.StatusConflict, refused.status, refused.raw)
	retried := s.do(t, "POST", "/v1/incidents/"+ref+"/acknowledge", `{}`, s.as(t, "alice", "Idempotency-Key", ackKey)...)
	require.Equal(t, http.StatusConflict, retried.status)
	require.Equal(t, "true", retried.header.Get("Idempotent-Replayed"))
}

// Concurrent notifications of one alert — Alertmanager's peers, a re-fire
// with a new start while the first is being declared — declare one incident.
func TestConcurrentAlertsDeclareOnce(t *testing.T) {
	s := setup(t)
	fp := fmt.Sprintf("%016x", time.Now().UnixNano())
	var wg sync.WaitGroup
	refs := make(chan string, 16)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := fmt.Sprintf(`{"version":"4","status":"firing","alerts":[{"status":"firing","fingerprint":%q,
				"labels":{"alertname":"CheckoutErrors","severity":"critical"},"annotations":{"summary":"Checkout errors"},
				"startsAt":"2026-12-01T10:%02d:00Z"}]}`, fp, i%4)
			r := s.do(t, "POST", "/v1/alerts/alertmanager?type=engineering", body)
			if r.status != http.StatusOK {
				t.Errorf("alert answered %d: %s", r.status, r.raw)
				return
			}
			refs <- r.body["results"].([]any)[0].(map[string]any)["ref"].(string)
		}()
	}
	wg.Wait()
	close(refs)
	seen := map[string]int{}
	for ref := range refs {
		seen[ref]++
	}
	require.Len(t, seen, 1, "one incident for one alert: %v", seen)
}

// An int field's bounds hold: a count of people is never negative.
func TestIntFieldBoundsAreKept(t *testing.T) {
	s := setup(t)
	r := s.do(t, "POST", "/v1/incidents", `{"type":"operational","title":"Refunds sent twice","severity":"minor","fields":{"customers_affected":-5}}`)
	require.Equal(t, http.StatusUnprocessableEntity, r.status, r.raw)
	require.Contains(t, r.raw, `"field":"fields.customers_affected"`)
	require.Contains(t, r.raw, "must be at least 0, not -5")
}
