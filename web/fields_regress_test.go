package web

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// A whole number of a million or more is written as people write it, on
// the incident page and in the form that changes it: the state the page
// reads comes back from JSON, where 1500000 is a float64, which %v writes
// 1.5e+06.
func TestIncidentPageWritesLargeCountsInFull(t *testing.T) {
	h := holeSetup(t)
	s := h.site(t, nil)
	ref := h.outage(t, "A million customers")
	alice := s.browser(t).signIn("alice")
	done := alice.post("/incidents/"+ref+"/fields", "field.service", "checkout", "shown.service", "checkout",
		"field.affected", "1500000", "shown.affected", "0", "field.region", "eu", "shown.region", "eu",
		"field.customer_impact", "true", "shown.customer_impact", "true", "field.components", "", "shown.components", "")
	require.Equal(t, http.StatusSeeOther, done.status, done.body)
	page := alice.get("/incidents/" + ref)
	require.Equal(t, http.StatusOK, page.status, page.body)
	require.Contains(t, page.body, `<dt>affected</dt><dd>1500000</dd>`, "the page writes the count 1.5e+06")
	require.Contains(t, page.body, `name="shown.affected" value="1500000"`)
}
