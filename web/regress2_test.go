package web

// Holes found by review of the web app, each a test of what must
// hold, on the hole tests' stack (regress_test.go).

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/links"
)

// The OpenID callback no longer shows text of its query, because "anyone
// can write a link to this page" (oidc.go). The page of every unknown
// path still does: "There is no page at " + r.URL.Path, for anyone, signed
// in or not. A link to https://incidents.example/Your%20account%20is…
// puts any sentence on a page of the app's own host; and an incident page
// of a ref that does not exist repeats the ref it was given.
func TestNotFoundPageShowsWhatALinkSays(t *testing.T) {
	h := holeSetup(t)
	s := h.site(t, nil)
	lure := "Your account is locked. Call the service desk on +1 555 0100 and give them your password"
	t.Run("AnyPath", func(t *testing.T) {
		page := s.browser(t).get("/" + url.PathEscape(lure))
		require.Equal(t, http.StatusNotFound, page.status, page.body)
		require.NotContains(t, page.body, "Call the service desk", "the not-found page says what the link's path wrote")
	})
	t.Run("IncidentRef", func(t *testing.T) {
		alice := s.browser(t).signIn("alice")
		page := alice.get("/incidents/" + url.PathEscape(lure))
		require.Equal(t, http.StatusNotFound, page.status, page.body)
		require.NotContains(t, page.body, "Call the service desk", "the incident page says what the link's ref wrote")
	})
	t.Run("DeclareType", func(t *testing.T) {
		alice := s.browser(t).signIn("alice")
		page := alice.get("/declare/" + url.PathEscape(lure))
		require.Equal(t, http.StatusNotFound, page.status, page.body)
		require.NotContains(t, page.body, "Call the service desk", "the declare page says what the link's type wrote")
	})
}

// Anonymous refusals are written one by one up to the API's budget, and the
// rest counted (api.Server.Audit), but only those whose principal is
// "anonymous". A link that expired still names its person, so every GET of
// it is written by itself as that person's refusal, without limit: whoever
// holds one expired link (an old e-mail, a forwarded page, a log line) fills
// the audit log at the rate they can send GETs. An expired link is no more
// a credential than an expired token, which the API counts in its budget.
func TestExpiredLinksFloodTheAuditLog(t *testing.T) {
	h := holeSetup(t)
	s := h.site(t, func(c *Config) { h.ownApp(c) })
	ref := h.outage(t, "Expired links flood the audit log")
	long := time.Now().Add(-60 * 24 * time.Hour)
	signIn := h.signer.Make(links.SignIn, "", "/", "bob", long)
	ack := h.signer.Make(dsl.LinkAcknowledge, ref, "", "bob", long)
	b := s.browser(t)
	seq := h.lastSeq(t)
	const each = 100
	for range each {
		require.Equal(t, http.StatusBadRequest, b.get("/signin/link/"+signIn).status)
		require.Equal(t, http.StatusGone, b.get("/act/"+ack).status)
	}
	written := h.auditSince(t, seq)
	require.LessOrEqual(t, len(written), 61,
		"%d GETs of two expired links wrote %d audit entries one by one: beyond the budget of refusals they must be counted",
		2*each, len(written))
}

// A session keeps a few live pages open, not as many as it asks for: each
// asks the store for changes every second.
func TestStreamsPerSessionAreBounded(t *testing.T) {
	h := holeSetup(t)
	s := h.site(t, nil)
	ref := h.outage(t, "Many tabs")
	alice := s.browser(t).signIn("alice")
	open := func(ctx context.Context) *http.Response {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, "GET", s.URL+"/incidents/"+ref+"/stream", nil)
		require.NoError(t, err)
		req.Header.Set("Accept", "text/event-stream")
		resp, err := alice.c.Do(req)
		require.NoError(t, err)
		return resp
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range streamsPerSession {
		resp := open(ctx)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		defer func() { _ = resp.Body.Close() }()
	}
	extra := open(context.Background())
	_ = extra.Body.Close()
	require.Equal(t, http.StatusTooManyRequests, extra.StatusCode, "a session opened a stream more than %d", streamsPerSession)
	other := s.browser(t).signIn("bob")
	theirs, err := other.c.Do(func() *http.Request {
		req, _ := http.NewRequest("GET", s.URL+"/incidents/"+ref+"/stream", nil)
		return req
	}())
	require.NoError(t, err)
	_ = theirs.Body.Close()
	require.Equal(t, http.StatusOK, theirs.StatusCode, "another session's streams are its own")

	cancel() // alice closes her tabs
	require.Eventually(t, func() bool {
		ctx, stop := context.WithCancel(context.Background())
		defer stop()
		resp := open(ctx)
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 10*time.Second, 50*time.Millisecond, "the streams closed are no longer counted")
}
