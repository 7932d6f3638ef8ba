package api_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow"
)

// Holes found by the third round of hostile testing of people and access,
// each a test of what must hold.

// A declarer is a service that "declares and reads nothing". Its
// declaration's Idempotency-Key is kept on the incident for good, and
// sending the declaration again answers with the incident as it stands
// now: the service reads who acknowledged it, its status and severity as
// people changed them, when it was resolved, as often as it likes, for as
// long as the incident exists.
func TestDeclarerReadsTheIncidentByReplayingItsKey(t *testing.T) {
	s := setup(t)
	key := fmt.Sprintf("ci-%d", time.Now().UnixNano())
	body := `{"type":"engineering","title":"Deploy pipeline saw 5xx after release","severity":"minor"}`
	ci := s.service(t, "ci", incidentflow.RoleDeclarer, "Idempotency-Key", key)
	ref := s.declare(t, body, ci...).str("ref")
	require.Equal(t, http.StatusForbidden, s.do(t, "GET", "/v1/incidents/"+ref, "", s.service(t, "ci", incidentflow.RoleDeclarer)...).status, "a declarer reads nothing")

	require.Eventually(t, func() bool {
		return s.do(t, "POST", "/v1/incidents/"+ref+"/acknowledge", `{}`, s.as(t, "alice")...).status == http.StatusOK
	}, 10*time.Second, 100*time.Millisecond, "alice acknowledges")
	require.Equal(t, http.StatusOK, s.do(t, "POST", "/v1/incidents/"+ref+"/severity", `{"severity":"critical","note":"all regions"}`, s.as(t, "alice")...).status)

	again := s.do(t, "POST", "/v1/incidents", body, ci...)
	require.Less(t, again.status, 300, again.raw)
	require.Empty(t, again.str("acknowledged_by"), "the declarer reads who acknowledged %s: %s", ref, again.raw)
	require.Equal(t, "minor", again.str("severity"), "the declarer reads the severity people set on %s: %s", ref, again.raw)
}
