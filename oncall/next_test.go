package oncall

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/dsl"
)

func TestNext(t *testing.T) {
	weekly := dsl.Schedule{ID: "sre", Timezone: "Europe/London",
		Rotation:  dsl.Rotation{Every: dsl.Duration{Fixed: 7 * 24 * time.Hour}, Handoff: "2026-01-05T09:00", Members: []string{"alice", "bob"}},
		Overrides: []dsl.Override{{Person: "dan", From: "2026-12-24T18:00", To: "2026-12-27T09:00"}}}
	london, _ := time.LoadLocation("Europe/London")
	at := func(s string) time.Time {
		v, err := time.ParseInLocation(dsl.LocalTimeLayout, s, london)
		require.NoError(t, err)
		return v
	}
	cases := []struct {
		name  string
		sch   dsl.Schedule
		from  string
		who   string
		when  string
		stays bool
	}{
		{"HandOffAtNine", weekly, "2026-03-02T08:00", "alice", "2026-03-02T09:00", false},
		{"AcrossSummerTime", weekly, "2026-03-27T12:00", "alice", "2026-03-30T09:00", false},
		{"OverrideStarts", weekly, "2026-12-24T10:00", "dan", "2026-12-24T18:00", false},
		{"OverrideEnds", weekly, "2026-12-25T10:00", "alice", "2026-12-27T09:00", false},
		{"NobodyElse", dsl.Schedule{ID: "solo", Rotation: dsl.Rotation{Every: dsl.Duration{Fixed: 24 * time.Hour}, Handoff: "2026-01-05T09:00", Members: []string{"erin"}}},
			"2026-03-02T08:00", "", "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			who, when, ok, err := Next(c.sch, at(c.from), 14*24*time.Hour)
			require.NoError(t, err)
			require.Equal(t, !c.stays, ok)
			if ok {
				require.Equal(t, c.who, who)
				require.True(t, at(c.when).Equal(when), "hand-off at %s, want %s", when.In(london), c.when)
			}
		})
	}
}
