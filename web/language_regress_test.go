package web

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// The form that changes fields labels each field as people read it
// ("affected", "region"), yet a refusal names it as a programmer would,
// "fields.affected must be a whole number", and of two problems says one
// and "(and 1 more problems)". The page must name the fields as the form
// does, and say every problem.
func TestChangeFieldsFormSaysProblemsInTheFormsWords(t *testing.T) {
	h := holeSetup(t)
	s := h.site(t, nil)
	ref := h.outage(t, "Counted customers wrongly")
	alice := s.browser(t).signIn("alice")
	require.Equal(t, http.StatusOK, alice.get("/incidents/"+ref).status)
	form := []string{"field.service", "checkout", "shown.service", "checkout", "field.affected", "lots", "shown.affected", "0",
		"field.region", "moon", "shown.region", "eu", "field.customer_impact", "true", "shown.customer_impact", "true",
		"field.components", "", "shown.components", ""}
	wrong := alice.post("/incidents/"+ref+"/fields", form...)
	require.Equal(t, http.StatusUnprocessableEntity, wrong.status, wrong.body)
	require.NotContains(t, wrong.body, "fields.affected", "the form calls it affected")
	require.NotContains(t, wrong.body, "more problems", "every problem is said")
	require.Contains(t, wrong.body, "must be a whole number")
	require.Contains(t, wrong.body, "must be one of eu, us, apac")
}
