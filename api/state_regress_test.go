package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// A live parameter that is no boolean is bad input: the read says so (as
// for mine), as the document (a boolean) does, rather than quietly serving the stored
// state as if live had not been asked.
func TestLiveThatIsNoBooleanIsRefused(t *testing.T) {
	s := setup(t)
	c := newConformance(t, s)
	ref := s.declare(t, `{"type":"engineering","title":"Live garbage","severity":"minor"}`, s.as(t, "carol")...).str("ref")
	for _, v := range []string{"garbage", "yes"} {
		got := c.check(t, "GET", "/v1/incidents/"+ref+"?live="+v, "")
		require.Equal(t, http.StatusUnprocessableEntity, got.status, "live=%s: %.300s", v, got.raw)
		require.Contains(t, got.raw, "live", "the error names the parameter")
	}
	for _, p := range c.problems {
		require.NotContains(t, p, "→ 200", "the server answers what the document refuses:\n%s", strings.Join(c.problems, "\n"))
	}
}
