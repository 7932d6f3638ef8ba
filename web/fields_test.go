package web

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// The incident page has a form that changes fields: it holds each field's
// value, and sends only the fields whose value was changed in it, so that
// a page opened before another person's change does not undo it.
func TestChangeFieldsForm(t *testing.T) {
	h := holeSetup(t)
	s := h.site(t, nil)
	ref := h.outage(t, "Counted customers")
	alice := s.browser(t).signIn("alice")
	page := alice.get("/incidents/" + ref)
	require.Equal(t, http.StatusOK, page.status, page.body)
	require.Contains(t, page.body, `action="/incidents/`+ref+`/fields"`)
	require.Contains(t, page.body, `name="field.affected" type="number" step="1" value="0"`)
	require.Contains(t, page.body, `name="shown.affected" value="0"`)
	require.Contains(t, page.body, `name="shown.region" value="eu"`)

	form := func(kv ...string) []string {
		shown := []string{"field.service", "checkout", "shown.service", "checkout", "field.affected", "0", "shown.affected", "0",
			"field.region", "eu", "shown.region", "eu", "field.customer_impact", "true", "shown.customer_impact", "true",
			"field.components", "", "shown.components", ""}
		out := []string{}
		for i := 0; i+1 < len(shown); i += 2 {
			v := shown[i+1]
			for j := 0; j+1 < len(kv); j += 2 {
				if kv[j] == shown[i] {
					v = kv[j+1]
				}
			}
			out = append(out, shown[i], v)
		}
		for j := 0; j+1 < len(kv); j += 2 {
			if kv[j] == "note" {
				out = append(out, "note", kv[j+1])
			}
		}
		return out
	}
	done := alice.post("/incidents/"+ref+"/fields", form("field.affected", "120", "field.region", "us", "note", "support counted")...)
	require.Equal(t, http.StatusSeeOther, done.status, done.body)

	events, err := h.store.Timeline(context.Background(), ref)
	require.NoError(t, err)
	var changes []string
	for _, e := range events {
		if e.Kind == "fields_changed" {
			changes = append(changes, e.Message)
		}
	}
	require.Equal(t, []string{"Affected 0 → 120, Region eu → us by alice: support counted"}, changes)

	unchanged := alice.post("/incidents/"+ref+"/fields", form()...)
	require.Equal(t, http.StatusUnprocessableEntity, unchanged.status)
	require.Contains(t, unchanged.body, "nothing to change: every field holds what it held; change a value first")

	emptied := alice.post("/incidents/"+ref+"/fields", form("field.service", "")...)
	require.Equal(t, http.StatusUnprocessableEntity, emptied.status)
	require.Contains(t, emptied.body, "Service is required, so it cannot be emptied: give it a new value instead")

	wrong := alice.post("/incidents/"+ref+"/fields", form("field.affected", "lots")...)
	require.Equal(t, http.StatusUnprocessableEntity, wrong.status)
	require.Contains(t, wrong.body, "Affected must be a whole number, not the text &#34;lots&#34;")
}
