package api_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// A body the API refuses as it is written — a key given twice — is
// compared, under its Idempotency-Key, as canonical JSON, where the last
// of the two keys is all that is left. The client fixes its body (one
// "text", the one the canonical form kept) and sends it again with the
// key: another request, to be refused 422 or carried out — not answered,
// from the key, with the first body's 400 "the key \"text\" is given twice",
// about a key it no longer sends. Its note is never written, and the
// client is told it sent what it did not.
func TestAttackFixedBodyUnderTheKeyOfARefusedOneIsNotAnsweredAsIt(t *testing.T) {
	s := setup(t)
	ref := s.declare(t, `{"type":"engineering","title":"Fixed body","severity":"minor","fields":{"service":"checkout"}}`).str("ref")
	key := uniqueKey("dup")
	first := s.do(t, "POST", "/v1/incidents/"+ref+"/notes", `{"text":"draft","text":"rolled back 41"}`, s.as(t, "alice", "Idempotency-Key", key)...)
	require.Equal(t, http.StatusBadRequest, first.status, first.raw)
	require.Contains(t, first.raw, "given twice")

	fixed := s.do(t, "POST", "/v1/incidents/"+ref+"/notes", `{"text":"rolled back 41"}`, s.as(t, "alice", "Idempotency-Key", key)...)
	require.NotEqual(t, "true", fixed.header.Get("Idempotent-Replayed"),
		"the fixed body was answered from the key as the refused one: %d %s", fixed.status, fixed.raw)
}
