package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/store"
)

// listed lists the refs of a list of incidents.
func listed(r response) []string {
	var out []string
	for _, inc := range r.body["incidents"].([]any) {
		out = append(out, inc.(map[string]any)["ref"].(string))
	}
	return out
}

// A privacy incident (the built-in privacy process is restricted to the
// privacy office and the executives) exists only for its viewers, its role
// holders, the people it reached and admins: to anyone else it is a 404,
// absent from every list.
func TestRestrictedIncidentsExistOnlyForTheirViewers(t *testing.T) {
	s := setup(t)
	aware := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
	ref := s.declare(t, fmt.Sprintf(`{"type":"privacy","title":"CRM export mailed to the wrong customer","severity":"medium","fields":{"aware_at":%q}}`, aware)).str("ref")
	open := s.declare(t, `{"type":"engineering","title":"Everyone sees this one","severity":"minor"}`).str("ref")
	base := "/v1/incidents/" + ref

	sees := func(t *testing.T, headers []string) bool {
		t.Helper()
		got := s.do(t, "GET", base, "", headers...)
		list := listed(s.do(t, "GET", "/v1/incidents?limit=500", "", headers...))
		require.Contains(t, list, open, "unrestricted incidents are for everyone")
		var deadlines []string
		for _, d := range s.do(t, "GET", "/v1/deadlines?status=all&limit=500", "", headers...).body["deadlines"].([]any) {
			deadlines = append(deadlines, d.(map[string]any)["incident"].(string))
		}
		if got.status == http.StatusNotFound {
			require.Equal(t, "no incident "+ref, got.str("error", "message"), "not forbidden: it does not exist")
			require.NotContains(t, list, ref, "absent from the list too")
			require.NotContains(t, deadlines, ref, "and from the deadlines")
			for _, path := range []string{"/timeline", "/tasks"} {
				require.Equal(t, http.StatusNotFound, s.do(t, "GET", base+path, "", headers...).status)
			}
			return false
		}
		require.Equal(t, http.StatusOK, got.status, got.raw)
		require.True(t, got.body["restricted"].(bool))
		require.Contains(t, list, ref)
		return true
	}
	// The GDPR clock has started once the run has taken its first steps.
	require.Eventually(t, func() bool {
		return len(s.do(t, "GET", "/v1/deadlines?status=all&limit=500", "").body["deadlines"].([]any)) > 0
	}, 10*time.Second, 50*time.Millisecond)

	require.True(t, sees(t, nil), "admins see everything")
	require.True(t, sees(t, s.as(t, "dan")), "the privacy office is a viewer")
	require.True(t, sees(t, s.as(t, "frank")), "so are the executives")
	require.False(t, sees(t, s.as(t, "erin")), "support is not")
	require.False(t, sees(t, s.service(t, "wallboard", incidentflow.RoleViewer)), "nor is a service")
	for path, body := range map[string]string{"/notes": `{"text":"hello"}`, "/acknowledge": `{}`} {
		r := s.do(t, "POST", base+path, body, s.as(t, "erin")...)
		require.Equal(t, http.StatusNotFound, r.status, "%s: %s", path, r.raw)
	}

	// Holding a role of the incident shows it.
	require.Equal(t, http.StatusOK, s.do(t, "POST", base+"/roles", `{"role":"comms","person":"erin"}`, s.as(t, "dan")...).status)
	require.True(t, sees(t, s.as(t, "erin")), "erin holds a role now")

	// Reads of a restricted incident are in the audit log; others are not.
	entries, err := s.store.Audit(context.Background(), 0, 100_000)
	require.NoError(t, err)
	read := slices.ContainsFunc(entries, func(e store.AuditEntry) bool {
		return e.Principal == "dan" && e.Action == "GET /v1/incidents/:ref" && e.Target == ref && e.Outcome == "done"
	})
	require.True(t, read, "dan's read of %s is audited", ref)
	require.False(t, slices.ContainsFunc(entries, func(e store.AuditEntry) bool { return e.Target == open && e.Action == "GET /v1/incidents/:ref" }))
}

// Only the person who holds the role approves, and nobody gives themselves
// a role that approves.
func TestApprovalsAreGivenByTheRoleHolder(t *testing.T) {
	s := setup(t)
	aware := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
	ref := s.declare(t, fmt.Sprintf(`{"type":"privacy","title":"Health records exposed","severity":"high","fields":{"aware_at":%q}}`, aware)).str("ref")
	base := "/v1/incidents/" + ref

	self := s.do(t, "POST", base+"/roles", `{"role":"dpo","person":"dan"}`, s.as(t, "dan")...)
	require.Equal(t, http.StatusForbidden, self.status, self.raw)
	require.Contains(t, self.str("error", "message"), "Dan Weber cannot give themselves the dpo role: it approves, so someone else must assign it")
	require.Equal(t, http.StatusOK, s.do(t, "POST", base+"/roles", `{"role":"dpo","person":"dan"}`, s.as(t, "frank")...).status)
	require.Equal(t, http.StatusOK, s.do(t, "POST", base+"/signals/risk_assessed", `{}`, s.as(t, "dan")...).status)

	var r response
	require.Eventually(t, func() bool {
		r = s.do(t, "POST", base+"/approvals", `{}`, s.as(t, "frank")...)
		return r.status != http.StatusConflict || !strings.Contains(r.raw, "waits for an approval")
	}, 10*time.Second, 50*time.Millisecond, "the approval step was not reached")
	require.Equal(t, http.StatusConflict, r.status, r.raw)
	require.Contains(t, r.str("error", "message"), "frank cannot approve: DPO approves telling data subjects (GDPR Art. 34) needs the dpo (dan)")
	service := s.do(t, "POST", base+"/approvals", `{}`, s.service(t, "bot", incidentflow.RoleAdmin)...)
	require.Equal(t, http.StatusForbidden, service.status, service.raw)

	approved := s.do(t, "POST", base+"/approvals", `{"note":"tell them today"}`, s.as(t, "dan")...)
	require.Equal(t, http.StatusOK, approved.status, approved.raw)
	tl := s.do(t, "GET", base+"/timeline", "")
	var actors []string
	for _, e := range tl.body["events"].([]any) {
		if ev := e.(map[string]any); ev["kind"] == "approved" || ev["kind"] == "role_assigned" {
			actors = append(actors, ev["kind"].(string)+" by "+ev["actor"].(string))
		}
	}
	require.Equal(t, []string{"role_assigned by frank", "approved by dan"}, actors, "every change records who made it")
	roles, err := s.store.IncidentRoles(context.Background(), ref)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"dpo": "dan"}, roles)
}

// The audit log holds every change and every refused or denied request, each
// entry chained to the one before by its hash.
func TestAuditLogIsChained(t *testing.T) {
	s := setup(t)
	ref := s.declare(t, `{"type":"engineering","title":"Audited","severity":"minor"}`, s.as(t, "alice")...).str("ref")
	require.Equal(t, http.StatusOK, s.do(t, "POST", "/v1/incidents/"+ref+"/acknowledge", `{}`, s.as(t, "bob")...).status)
	require.Equal(t, http.StatusConflict, s.do(t, "POST", "/v1/incidents/"+ref+"/acknowledge", `{}`, s.as(t, "alice")...).status)
	require.Equal(t, http.StatusForbidden, s.do(t, "POST", "/v1/incidents/"+ref+"/notes", `{"text":"x"}`, s.service(t, "wallboard", incidentflow.RoleViewer)...).status)
	require.Equal(t, http.StatusUnauthorized, s.do(t, "POST", "/v1/incidents/"+ref+"/notes", `{"text":"x"}`, "Authorization", "Bearer ifl_forged").status)
	require.Equal(t, http.StatusForbidden, s.do(t, "GET", "/v1/audit", "", s.as(t, "alice")...).status, "the audit log is for admins")

	var entries []store.AuditEntry
	after, prev := int64(0), ""
	for {
		page := s.do(t, "GET", fmt.Sprintf("/v1/audit?after=%d&limit=50", after), "")
		require.Equal(t, http.StatusOK, page.status, page.raw)
		var got []store.AuditEntry
		for _, e := range page.body["entries"].([]any) {
			m := e.(map[string]any)
			at, err := time.Parse(time.RFC3339Nano, m["at"].(string))
			require.NoError(t, err)
			entry := store.AuditEntry{Seq: int64(m["seq"].(float64)), At: at, Principal: m["principal"].(string), Via: m["via"].(string),
				Action: m["action"].(string), Outcome: m["outcome"].(string), PrevHash: m["prev_hash"].(string), Hash: m["hash"].(string)}
			entry.Target, _ = m["target"].(string)
			entry.Detail, _ = m["detail"].(string)
			if st, ok := m["status"].(float64); ok {
				entry.Status = int(st)
			}
			got = append(got, entry)
		}
		var err error
		prev, err = store.VerifyAudit(store.AuditKey([]byte(testSecret)), got, after, prev)
		require.NoError(t, err, "the chain holds")
		entries = append(entries, got...)
		if page.body["next_after"] == nil {
			break
		}
		after = int64(page.body["next_after"].(float64))
	}
	find := func(principal, action, outcome string) bool {
		return slices.ContainsFunc(entries, func(e store.AuditEntry) bool {
			return e.Principal == principal && e.Action == action && e.Target == ref && e.Outcome == outcome
		})
	}
	require.True(t, find("bob", "POST /v1/incidents/:ref/acknowledge", "done"))
	require.True(t, find("alice", "POST /v1/incidents/:ref/acknowledge", "refused"), "a refusal, with the incident's reason")
	require.True(t, slices.ContainsFunc(entries, func(e store.AuditEntry) bool {
		return e.Principal == "service:wallboard" && e.Outcome == "denied" && e.Detail != ""
	}), "a denial, saying why")
	require.True(t, find("anonymous", "POST /v1/incidents/:ref/notes", "denied"), "a forged token")

	// Changing any entry breaks the chain from it on, and whoever changes it
	// cannot chain the rest again without the key.
	key := store.AuditKey([]byte(testSecret))
	tampered := append([]store.AuditEntry(nil), entries...)
	i := len(tampered) / 2
	tampered[i].Principal = "someone else"
	_, err := store.VerifyAudit(key, tampered, 0, "")
	require.ErrorContains(t, err, fmt.Sprintf("entry %d was changed", tampered[i].Seq))
	for j := i; j < len(tampered); j++ {
		if j > 0 {
			tampered[j].PrevHash = tampered[j-1].Hash
		}
		tampered[j].Hash = store.AuditHash(nil, tampered[j]) // the forger's guess of the key
	}
	_, err = store.VerifyAudit(key, tampered, 0, "")
	require.ErrorContains(t, err, fmt.Sprintf("entry %d was changed", tampered[i].Seq))
}

// The audit log is searched by principal, incident, outcome and time, as
// an admin looking into one incident or one person asks it.
func TestAuditLogFilters(t *testing.T) {
	s := setup(t)
	ref := s.declare(t, `{"type":"engineering","title":"Audited by filter","severity":"minor"}`, s.as(t, "alice")...).str("ref")
	require.Equal(t, http.StatusOK, s.do(t, "POST", "/v1/incidents/"+ref+"/acknowledge", `{}`, s.as(t, "bob")...).status)
	require.Equal(t, http.StatusConflict, s.do(t, "POST", "/v1/incidents/"+ref+"/acknowledge", `{}`, s.as(t, "alice")...).status)
	since := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	entries := func(query string) []map[string]any {
		t.Helper()
		page := s.do(t, "GET", "/v1/audit?limit=500&"+query, "")
		require.Equal(t, http.StatusOK, page.status, page.raw)
		var out []map[string]any
		for _, e := range page.body["entries"].([]any) {
			out = append(out, e.(map[string]any))
		}
		return out
	}
	got := entries("incident=" + ref + "&since=" + url.QueryEscape(since))
	require.GreaterOrEqual(t, len(got), 3, "the declaration, bob's acknowledgement and alice's refused one")
	for _, e := range got {
		require.Equal(t, ref, e["target"])
	}
	got = entries("incident=" + ref + "&principal=alice&outcome=refused")
	require.Len(t, got, 1)
	require.Equal(t, "POST /v1/incidents/:ref/acknowledge", got[0]["action"])
	require.Empty(t, entries("incident="+ref+"&until="+url.QueryEscape(since)), "nothing about it before it was declared")
	for query, want := range map[string]string{"outcome=lost": "outcome must be one of done, denied, refused, invalid, failed",
		"since=yesterday": "since must be a time like", "principal=" + url.QueryEscape("a\nb"): "principal "} {
		bad := s.do(t, "GET", "/v1/audit?"+query, "")
		require.Equal(t, http.StatusUnprocessableEntity, bad.status, bad.raw)
		require.Contains(t, bad.raw, want)
	}
}
