package simulation

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The declaration opens the timeline even when a message sent at the same
// instant was recorded before it.
func TestTimelineBeginsWithTheDeclaration(t *testing.T) {
	at := time.Date(2026, 12, 23, 16, 0, 0, 0, time.UTC)
	r := &recorder{}
	r.add(at, "notify", "→ #legal-email: hi")
	r.add(at.Add(-time.Second), "refused", "earlier")
	r.add(at, "declared", "Declared")
	r.add(at, "deadline_started", "clock")
	var kinds []string
	for _, l := range r.timeline() {
		kinds = append(kinds, l.Kind)
	}
	require.Equal(t, []string{"refused", "declared", "notify", "deadline_started"}, kinds)
}
