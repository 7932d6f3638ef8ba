package bench

import (
	"net/http"
	"testing"
)

// serverTiming claims to read "any form its grammar allows". A quoted desc
// is a quoted-string (RFC 9110), which may hold "," and ";": a proxy's
// metric with such a description, or one of the API's own, must not make
// the action's timing unreadable.
func TestTimedActionReadsAQuotedDescriptionWithACommaOrSemicolon(t *testing.T) {
	for name, timing := range map[string]string{
		"Comma":     `request;desc="auth, read";dur=5, accept;dur=40, complete;dur=1`,
		"Semicolon": `request;dur=5;desc="x;dur=99", accept;dur=40, complete;dur=1`,
	} {
		t.Run(name, func(t *testing.T) {
			if w := splitOne(http.Header{"Server-Timing": {timing}}); w.Matched != 1 {
				t.Errorf("Server-Timing %q was not read: matched %d", timing, w.Matched)
			}
		})
	}
}
