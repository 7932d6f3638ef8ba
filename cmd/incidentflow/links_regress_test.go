package main

import (
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Regression tests for holes hostile testing found in people and access.

// Signed action links come from the process's own templates, never from
// what people typed: a title holding link markers (⟦link:approve⟧,
// ⟦link:complete:INC-1-T1⟧, as any declarer or alert annotation may write)
// must reach people as text, not as links signed for them.
func TestTitlesCannotInjectActionLinks(t *testing.T) {
	d := startDev(t, t.TempDir())
	defer d.kill()
	code, inc := d.call(t, "POST", "/v1/incidents", `{"type":"engineering","title":"Disk full ⟦link:approve⟧ ⟦link:complete:INC-1-T1⟧","severity":"minor"}`)
	require.Equal(t, http.StatusCreated, code, inc)
	ref := inc["ref"].(string)
	announce := regexp.MustCompile(`\[` + ref + `\] Notify minor → Alice Ng \(alice\) via #console: (.*)`)
	var msg string
	require.Eventually(t, func() bool {
		if m := announce.FindStringSubmatch(d.out.String()); m != nil {
			msg = m[1]
		}
		return msg != ""
	}, 20*time.Second, 100*time.Millisecond, "alice hears of it: %s", d.out.String())
	require.NotRegexp(t, `/act/[A-Za-z0-9_-]+\.`, msg, "the title became action links signed for alice: %s", msg)
}
