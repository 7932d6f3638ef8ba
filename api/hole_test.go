package api_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// §7: errors never show an internal string, no Go type names. A value of
// the wrong JSON type is answered with encoding/json's reflect type:
// "map[string]interface {}", "float64", "api.DeclareRequest".
func TestHole_WrongTypesAreRefusedInWordsNotGoTypes(t *testing.T) {
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
func TestHole_HugeNumberNamesItsField(t *testing.T) {
	s := setup(t)
	r := s.do(t, "POST", "/v1/incidents",
		`{"type":"privacy","title":"Huge number","severity":"low","fields":{"aware_at":"2026-12-01T00:00:00Z","data_subjects":1e400}}`)
	require.Contains(t, []int{http.StatusBadRequest, http.StatusUnprocessableEntity}, r.status, r.raw)
	require.NotContains(t, r.str("error", "message"), "float64", "the message names a Go type")
	require.Contains(t, r.raw, `"field":"fields.data_subjects"`, "the detail names the field: %s", r.raw)
}

// A review's new start that is not a time is refused naming start; it is
// answered "the request body is not a valid JSON object", which it is.
func TestHole_BadRescheduleStartNamesTheField(t *testing.T) {
	s := setup(t)
	ref := s.declare(t, `{"type":"engineering","title":"Bad reschedule","severity":"minor"}`).str("ref")
	for _, body := range []string{`{"start":"next tuesday"}`, `{"start":5}`, `{"start":"2026-12-01T00:00:00+99:00"}`, `{"start":"10000-01-01T00:00:00Z"}`} {
		r := s.do(t, "POST", "/v1/incidents/"+ref+"/review/reschedule", body, s.as(t, "alice")...)
		require.Contains(t, []int{http.StatusBadRequest, http.StatusUnprocessableEntity}, r.status, r.raw)
		require.Contains(t, r.raw, `"field":"start"`, "%s: the refusal names start: %s", body, r.raw)
		require.NotContains(t, r.str("error", "message"), "not a valid JSON object", "%s is a valid JSON object", body)
	}
}
