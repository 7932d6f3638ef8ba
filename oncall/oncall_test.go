package oncall_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/oncall"
)

func weekly(members ...string) dsl.Schedule {
	return dsl.Schedule{ID: "primary", Timezone: "Europe/London",
		Rotation: dsl.Rotation{Every: dsl.Duration{Fixed: 7 * 24 * time.Hour}, Handoff: "2026-01-05T09:00", Members: members}}
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestOnCall(t *testing.T) {
	withOverride := weekly("alice", "bob")
	withOverride.Overrides = []dsl.Override{{Person: "carol", From: "2026-01-11T18:00", To: "2026-01-13T09:00"}}
	// Weeknights (18:00-09:00, Monday to Friday evenings) go to a night
	// rotation; weekends, whole days, to a weekend one; the weekly rotation
	// keeps weekday office hours.
	layered := weekly("alice", "bob")
	weekdays := []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}
	layered.Layers = []dsl.Layer{
		{Rotation: dsl.Rotation{Every: dsl.Duration{Fixed: 7 * 24 * time.Hour}, Handoff: "2026-01-05T18:00", Members: []string{"nina", "noah"}},
			Days: weekdays, From: "18:00", To: "09:00"},
		{Rotation: dsl.Rotation{Every: dsl.Duration{Fixed: 7 * 24 * time.Hour}, Handoff: "2026-01-10T00:00", Members: []string{"wes"}},
			Days: []time.Weekday{time.Saturday, time.Sunday}},
	}
	layered.Overrides = []dsl.Override{{Person: "carol", From: "2026-01-07T20:00", To: "2026-01-07T22:00"}}
	twelveHours := dsl.Schedule{ID: "follow-the-sun", Timezone: "UTC",
		Rotation: dsl.Rotation{Every: dsl.Duration{Fixed: 12 * time.Hour}, Handoff: "2026-03-28T08:00", Members: []string{"ana", "ben", "cho"}}}
	for _, tc := range []struct {
		name     string
		schedule dsl.Schedule
		at       string
		want     string
	}{
		{"FirstShift", weekly("alice", "bob"), "2026-01-05T09:00:00Z", "alice"},
		{"JustBeforeFirstHandoff", weekly("alice", "bob"), "2026-01-12T08:59:59Z", "alice"},
		{"SecondShift", weekly("alice", "bob"), "2026-01-12T09:00:00Z", "bob"},
		{"WrapsAround", weekly("alice", "bob"), "2026-01-19T09:00:00Z", "alice"},
		{"BeforeTheHandoffCountsBackwards", weekly("alice", "bob"), "2026-01-05T08:59:00Z", "bob"},
		// London moves to BST on Sunday 29 March 2026; Monday 30 March starts
		// shift 12 (alice) at 09:00 local, which is 08:00 UTC.
		{"HandoffAfterSpringForwardAtLocalNine", weekly("alice", "bob"), "2026-03-30T08:00:00Z", "alice"},
		{"OneMinuteBeforeThatHandoff", weekly("alice", "bob"), "2026-03-30T07:59:00Z", "bob"},
		// Back to GMT on Sunday 25 October; Monday 26 October starts shift 42
		// (alice) at 09:00 local, 09:00 UTC again.
		{"HalfAnHourBeforeTheHandoffAfterFallBack", weekly("alice", "bob"), "2026-10-26T08:30:00Z", "bob"},
		{"HandoffAfterFallBackAtNine", weekly("alice", "bob"), "2026-10-26T09:00:00Z", "alice"},
		{"OverrideStartsMidShift", withOverride, "2026-01-11T18:00:00Z", "carol"},
		{"OverrideSpansTheHandoff", withOverride, "2026-01-12T12:00:00Z", "carol"},
		{"RotationResumesAfterOverride", withOverride, "2026-01-13T09:00:00Z", "bob"},
		{"MemberAddedMidRotationShiftsTheOrder", weekly("alice", "bob", "dan"), "2026-01-19T09:00:00Z", "dan"},
		// 36 hours in: shift 3, back to the first member, whatever the clocks did.
		{"TwelveHourShiftsIgnoreDST", twelveHours, "2026-03-29T20:00:00Z", "ana"},
		{"LayerOfficeHoursKeepTheBaseRotation", layered, "2026-01-07T10:00:00Z", "alice"},
		{"LayerWeeknight", layered, "2026-01-07T19:00:00Z", "nina"},
		{"LayerWeeknightPastMidnight", layered, "2026-01-08T03:00:00Z", "nina"},
		{"LayerEndsAtNineNextMorning", layered, "2026-01-08T09:00:00Z", "alice"},
		{"LayerNightRotationHandsOffWeekly", layered, "2026-01-12T19:00:00Z", "noah"},
		// Friday night belongs to Friday's window until 09:00 Saturday, but
		// the weekend layer, written later, wins over it all Saturday.
		{"LaterLayerWinsFridayNightIntoSaturday", layered, "2026-01-10T03:00:00Z", "wes"},
		{"FridayNightBeforeMidnight", layered, "2026-01-09T23:00:00Z", "nina"},
		{"SundayNightIsNoWeeknight", layered, "2026-01-12T08:00:00Z", "alice"},
		{"OverrideBeatsLayers", layered, "2026-01-07T21:00:00Z", "carol"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := oncall.OnCall(tc.schedule, at(tc.at))
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestBoundaryKeepsLocalTimeAcrossDST(t *testing.T) {
	london, err := time.LoadLocation("Europe/London")
	require.NoError(t, err)
	handoff := time.Date(2026, 3, 23, 9, 0, 0, 0, london)
	next := oncall.Boundary(handoff, 7*24*time.Hour, 1)
	require.Equal(t, 9, next.Hour())
	require.Equal(t, 167*time.Hour, next.Sub(handoff), "the week with the spring-forward change is an hour shorter")
}

func BenchmarkOnCall(b *testing.B) {
	s := weekly("alice", "bob", "carol", "dan")
	s.Overrides = []dsl.Override{{Person: "erin", From: "2026-12-24T00:00", To: "2026-12-27T00:00"}}
	t := at("2027-06-01T12:00:00Z")
	for b.Loop() {
		if _, err := oncall.OnCall(s, t); err != nil {
			b.Fatal(err)
		}
	}
}
