package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The list finds incidents by ref or by words of their title in any case,
// open or closed, and those the caller is involved in; its cursor is the
// ref of a page's last incident, and a ref the caller may not see is no
// cursor, answered as one that does not exist.
func TestListSearchStateMineAndCursor(t *testing.T) {
	s := setup(t)
	word := fmt.Sprintf("zq%d", time.Now().UnixNano())
	a := s.declare(t, `{"type":"engineering","title":"Checkout `+word+` is slow","severity":"minor"}`, s.as(t, "alice")...).str("ref")
	b := s.declare(t, `{"type":"engineering","title":"CHECKOUT `+word+` errors 100%","severity":"minor"}`, s.as(t, "bob")...).str("ref")
	list := func(query string, headers ...string) ([]string, any) {
		t.Helper()
		got := s.do(t, "GET", "/v1/incidents?"+query, "", headers...)
		require.Equal(t, http.StatusOK, got.status, got.raw)
		var refs []string
		for _, i := range got.body["incidents"].([]any) {
			refs = append(refs, i.(map[string]any)["ref"].(string))
		}
		return refs, got.body["next_cursor"]
	}
	q := "q=" + url.QueryEscape(strings.ToUpper(word))
	refs, _ := list(q)
	require.Equal(t, []string{b, a}, refs, "words of the title, in any case")
	refs, _ = list("q=" + strings.ToLower(a))
	require.Equal(t, []string{a}, refs, "a ref, in any case")
	refs, _ = list("q=" + url.QueryEscape("100%"))
	require.Contains(t, refs, b)
	refs, _ = list("q=" + url.QueryEscape(word+"%slow"))
	require.Empty(t, refs, "%% is a character, not a wildcard")
	refs, _ = list(q+"&mine=true", s.as(t, "bob")...)
	require.Contains(t, refs, b, "bob declared "+b)
	refs, _ = list(q+"&mine=true", s.as(t, "erin")...)
	require.Empty(t, refs, "erin neither declared nor was paged for either")

	closed := s.do(t, "POST", "/v1/incidents/"+a+"/status", `{"status":"declined","note":"a duplicate"}`, s.as(t, "alice")...)
	require.Equal(t, http.StatusOK, closed.status, closed.raw)
	require.Eventually(t, func() bool { refs, _ := list(q + "&state=closed"); return len(refs) == 1 && refs[0] == a }, 10*time.Second, 50*time.Millisecond)
	refs, _ = list(q + "&state=open")
	require.Equal(t, []string{b}, refs)

	refs, next := list(q + "&limit=1")
	require.Equal(t, []string{b}, refs)
	require.Equal(t, b, next, "the cursor is the last incident's ref")
	refs, _ = list(q + "&limit=1&cursor=" + b)
	require.Equal(t, []string{a}, refs)

	hidden := declarePrivacy(t, s, "Payroll on a shared drive").str("ref")
	require.Regexp(t, `^INC-[A-Z][A-Z0-9]{5}$`, hidden, "a restricted incident's ref is random")
	for _, cursor := range []string{hidden, "INC-999999", "42", strings.Repeat("x", 5000)} {
		got := s.do(t, "GET", "/v1/incidents?limit=1&cursor="+url.QueryEscape(cursor), "", s.as(t, "alice")...)
		require.Equal(t, http.StatusUnprocessableEntity, got.status, got.raw)
		require.Contains(t, got.raw, "must be the next_cursor of a previous page")
	}
	for query, want := range map[string]string{"state=gone": "state must be open or closed", "mine=maybe": "mine must be true or false",
		"q=" + url.QueryEscape("a\nb"): "q "} {
		got := s.do(t, "GET", "/v1/incidents?"+query, "", s.as(t, "alice")...)
		require.Equal(t, http.StatusUnprocessableEntity, got.status, got.raw)
		require.Contains(t, got.raw, want)
	}
	svc := s.do(t, "GET", "/v1/incidents?mine=true", "", s.service(t, "dashboard", "viewer")...)
	require.Equal(t, http.StatusUnprocessableEntity, svc.status, svc.raw)
	require.Contains(t, svc.raw, "mine is for people")
}
