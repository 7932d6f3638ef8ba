package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow"
)

// Someone who may not see a restricted incident learns nothing of it by
// its changes, with or without keys — not even the key its member used —
// and their attempts neither withdraw its events nor move its Version.
func TestAttackRestrictedIncidentLeaksNothingThroughUpdates(t *testing.T) {
	s := setup(t)
	ref := declarePrivacy(t, s, "Restricted changes").str("ref")
	key := uniqueKey("restricted")
	ok := s.do(t, "POST", "/v1/incidents/"+ref+"/notes", `{"text":"told the DPO"}`, s.as(t, "dan", "Idempotency-Key", key)...)
	require.Equal(t, http.StatusOK, ok.status, ok.raw)
	ctx := context.Background()
	dan := incidentflow.Principal{Kind: incidentflow.PersonPrincipal, ID: "dan", Role: incidentflow.RoleResponder}
	var before string
	require.Eventually(t, func() bool { // the run settles
		v, err := s.server.Version(ctx, dan, ref)
		require.NoError(t, err)
		time.Sleep(300 * time.Millisecond)
		before, err = s.server.Version(ctx, dan, ref)
		require.NoError(t, err)
		return v == before
	}, 15*time.Second, 10*time.Millisecond)
	bob := incidentflow.Principal{Kind: incidentflow.PersonPrincipal, ID: "bob", Role: incidentflow.RoleResponder}
	_, err := s.server.Version(ctx, bob, ref)
	require.Equal(t, incidentflow.ENOTFOUND, incidentflow.ErrorCode(err), "%v", err)
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/notes", `{"text":"told the DPO"}`},
		{"POST", "/acknowledge", `{}`},
		{"POST", "/status", `{"status":"fixing"}`},
		{"POST", "/roles", `{"role":"lead","person":"bob"}`},
		{"POST", "/approvals", `{}`},
	} {
		hs := [][]string{s.as(t, "bob"), s.as(t, "bob", "Idempotency-Key", uniqueKey("b"))}
		if c.path == "/notes" { // dan's key and body, sent by bob: bob's own key
			hs = append(hs, s.as(t, "bob", "Idempotency-Key", key))
		}
		for _, h := range hs {
			r := s.do(t, c.method, "/v1/incidents/"+ref+c.path, c.body, h...)
			require.Equal(t, http.StatusNotFound, r.status, "%s: %s", c.path, r.raw)
			require.NotContains(t, r.raw, "Restricted changes")
			require.NotContains(t, r.raw, "DPO")
		}
	}
	after, err := s.server.Version(ctx, dan, ref)
	require.NoError(t, err)
	require.Equal(t, before, after)
	tl := s.do(t, "GET", "/v1/incidents/"+ref+"/timeline", "", s.as(t, "dan")...)
	require.Equal(t, http.StatusOK, tl.status, tl.raw)
	require.Contains(t, tl.raw, "told the DPO")
	require.NotContains(t, tl.raw, "withdrawn")
}
