package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow"
)

// People change an incident's fields as it goes; each change is checked as
// a declaration is, put on the timeline with who made it, audited, done
// once per Idempotency-Key, and fires the process's handlers: the
// operational process pages the executive on call when the count of
// customers affected rises past 100, once per crossing.
func TestChangeFields(t *testing.T) {
	s := setup(t)
	ref := s.declare(t, `{"type":"operational","title":"Refunds sent twice","severity":"major","fields":{"customers_affected":40}}`).str("ref")
	s.requireRunning(t, ref)
	base := "/v1/incidents/" + ref
	c := newConformance(t, s)
	patch := func(body string, headers ...string) response {
		t.Helper()
		return c.check(t, "PATCH", base+"/fields", body, headers...)
	}
	pages := func() []string { return s.console.containing(ref + " Refunds sent twice now affects") }

	r := patch(`{"fields":{"customers_affected":120},"note":"support counted the tickets"}`, s.as(t, "alice", "Idempotency-Key", "count-1")...)
	require.Equal(t, http.StatusOK, r.status, r.raw)
	require.Equal(t, 120.0, r.body["state"].(map[string]any)["fields"].(map[string]any)["customers_affected"])
	again := patch(`{"fields":{"customers_affected":120},"note":"support counted the tickets"}`, s.as(t, "alice", "Idempotency-Key", "count-1")...)
	require.Equal(t, http.StatusOK, again.status, "the same request again is answered as before, not refused as no change: %s", again.raw)
	require.Equal(t, "true", again.header.Get("Idempotent-Replayed"))
	require.Eventually(t, func() bool { return len(pages()) > 0 }, 30*time.Second, 100*time.Millisecond, "past 100, the executive is paged")

	for _, tc := range []struct {
		name, body string
		headers    []string
		status     int
		substr     string
	}{
		{"ErrNothingChanges", `{"fields":{"customers_affected":120}}`, nil, 409, "nothing changes: Customers affected is already 120"},
		{"ErrUnknownField", `{"fields":{"customers_afected":3}}`, nil, 422, `fields.customers_afected is not a field of operational incidents; did you mean "customers_affected"?`},
		{"ErrWrongType", `{"fields":{"customers_affected":"lots"}}`, nil, 422, `fields.customers_affected must be a whole number, not the text "lots"`},
		{"ErrEveryFieldChecked", `{"fields":{"customers_affected":-2,"area":"moon"}}`, nil, 422, `fields.area must be one of support, finance, operations, other, not "moon" (and 1 more problem: see details)`},
		{"ErrNoFields", `{"fields":{}}`, nil, 422, "fields is required"},
		{"ErrViewer", `{"fields":{"customers_affected":7}}`, s.service(t, "fields-viewer", incidentflow.RoleViewer), 403, ""},
		{"Still150", `{"fields":{"customers_affected":150}}`, s.as(t, "bob"), 200, ""},
		{"Back80", `{"fields":{"customers_affected":80}}`, s.as(t, "bob"), 200, ""},
		{"Again130", `{"fields":{"customers_affected":130}}`, s.as(t, "bob"), 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := patch(tc.body, tc.headers...)
			require.Equal(t, tc.status, r.status, r.raw)
			if tc.substr != "" {
				require.Contains(t, r.str("error", "message"), tc.substr)
			}
		})
	}
	nobody := c.check(t, "PATCH", "/v1/incidents/INC-999999999/fields", `{"fields":{"customers_affected":1}}`)
	require.Equal(t, http.StatusNotFound, nobody.status, nobody.raw)
	// The document refuses what the server refuses: no fields at all.
	require.Len(t, c.problems, 1, "answers that openapi.json does not describe:\n%s", strings.Join(c.problems, "\n"))
	require.Contains(t, c.problems[0], "there must be at least 1 properties")

	require.Eventually(t, func() bool { return len(pages()) >= 2 }, 30*time.Second, 100*time.Millisecond, "back below 100 and past it again pages again")
	for _, p := range pages() {
		require.NotContains(t, p, "affects 150", "120 → 150 crosses nothing")
	}
	got := s.do(t, "GET", base, "")
	require.Equal(t, 130.0, got.body["fields"].(map[string]any)["customers_affected"], "the incident's record holds the change: %s", got.raw)

	tl := s.do(t, "GET", base+"/timeline", "")
	var changes []string
	for _, e := range tl.body["events"].([]any) {
		if ev := e.(map[string]any); ev["kind"] == "fields_changed" {
			changes = append(changes, ev["message"].(string))
			if len(changes) == 1 {
				require.Equal(t, map[string]any{"customers_affected": 40.0}, ev["data"].(map[string]any)["from"])
				require.Equal(t, map[string]any{"customers_affected": 120.0}, ev["data"].(map[string]any)["fields"])
			}
		}
	}
	require.Equal(t, []string{"Customers affected 40 → 120 by alice: support counted the tickets", "Customers affected 120 → 150 by bob",
		"Customers affected 150 → 80 by bob", "Customers affected 80 → 130 by bob"}, changes, "one change per request, the replayed one once")

	audit := s.do(t, "GET", "/v1/audit?limit=500&incident="+ref+"&principal=alice", "")
	require.Equal(t, http.StatusOK, audit.status, audit.raw)
	require.Contains(t, audit.raw, `"action":"PATCH /v1/incidents/:ref/fields"`)
}
