package workflows_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/workflows"
)

// A run that continues as new while a delivery is being sent, retried, or
// about to be sent, drops nothing and sends nothing twice: the task's owner
// is told, the review's invitation and reminder go out, every reminder of a
// deadline arrives, each exactly once. The receiver fails each first
// attempt, so every delivery is in flight for a second of workflow time,
// and the history turns long at instants swept across each delivery: just
// before it, as its timer fires, while its retry waits.
func TestContinueAsNewDropsNoDelivery(t *testing.T) {
	process := `
process: p
title: P
severities: [critical]
roles: [lead]
steps:
  - set: {roles: {lead: carol}}
  - name: Clock
    background: true
    deadline: {title: Report, within: 3h, from: declared, remind_before: [2h, 1h], notify: [channel:ops]}
  - name: Fix
    task: {owner: role:lead, title: "Fix it"}
  - name: Review
    review: {within: 5 business days, attendees: [role:lead], remind_before: [1h]}
  - set: {status: closed}
`
	start := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC) // a Thursday; the review is Friday 09:00
	updates := []timedUpdate{{25 * time.Hour, workflows.UpdateReviewHeld, workflows.ReviewHeldInput{By: "carol"}}}
	want := []string{
		"Thu 26 09:00 notify carol",   // the task's owner
		"Thu 26 09:00 review carol",   // the invitation
		"Thu 26 10:00 notify ops",     // the deadline's first reminder (2h before)
		"Thu 26 11:00 notify ops",     // its second (1h before)
		"Fri 27 08:30 reminder carol", // an hour before the review (09:30: the task took its retry)
	}
	deliveries := []time.Duration{0, time.Second, time.Hour, 2 * time.Hour, 23*time.Hour + 30*time.Minute}
	for _, offset := range []time.Duration{-time.Millisecond, 0, time.Millisecond, 500 * time.Millisecond, 1500 * time.Millisecond} {
		t.Run(fmt.Sprintf("long%+v", offset), func(t *testing.T) {
			var long []time.Duration
			for _, d := range deliveries {
				if d+offset > 0 {
					long = append(long, d+offset)
				}
			}
			store, sent, _, runs := runContinuingFlaky(t, process, start, updates, long, true)
			require.Positive(t, runs, "the run continued as new")
			var got []string
			for _, l := range sent {
				if !strings.Contains(l, "notify ops") || strings.HasPrefix(l, "Thu 26 1") {
					got = append(got, l)
				}
			}
			require.Equal(t, want, got, "every delivery once, at its time (give or take its retry): %v", sent)
			require.Equal(t, "closed", store.lastStatus())
		})
	}
}
