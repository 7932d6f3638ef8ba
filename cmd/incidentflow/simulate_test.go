package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func simulate(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), append([]string{"simulate"}, args...), func(string) string { return "" }, &out, &errOut)
	return out.String() + errOut.String(), err
}

// --set changes a field during the simulated incident as a person would:
// the operational process pages the executive on call when the count of
// customers affected rises past 100, once each time it does.
func TestSimulateSetFiresOncePerCrossing(t *testing.T) {
	out, err := simulate(t, "operational", "--severity", "major", "--at", "2026-12-23T16:00", "--field", "customers_affected=40",
		"--set", "customers_affected=120@1h", "--set", "customers_affected=150@2h", "--set", "customers_affected=80@3h",
		"--set", "customers_affected=130@4h", "--for", "5h")
	require.NoError(t, err, out)
	require.Contains(t, out, "fields_changed     Customers affected 40 → 120 by the simulation")
	require.Contains(t, out, "fields_changed     Customers affected 120 → 150 by the simulation")
	var firstRounds []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "Paged level 1 of exec-oncall (round 1)") {
			firstRounds = append(firstRounds, strings.Fields(l)[3])
		}
	}
	require.Equal(t, []string{"17:00", "20:00"}, firstRounds, "paged at 40 → 120 and at 80 → 130, not at 120 → 150:\n%s", out)
	require.Contains(t, out, "now affects 130 customers")
	require.NotContains(t, out, "now affects 150 customers")
}

// Each bad --set is named with what is wrong with it.
func TestSimulateSetRefusesBadInput(t *testing.T) {
	out, err := simulate(t, "operational", "--set", "customers_affected=lots@1h", "--set", "customers_afected=3@1h",
		"--set", "customers_affected=3", "--set", "customers_affected=-1@2h", "--set", "area=moon@1h", "--set", "customers_affected=5@soon")
	require.Error(t, err)
	out += err.Error()
	for _, want := range []string{
		`--set customers_affected=lots@1h: the value must be a whole number, not the text "lots"`,
		`--set customers_afected: operational incidents have no such field (their fields are customers_affected, area, ai_act_serious_incident); did you mean "customers_affected"?`,
		`--set "customers_affected=3" must be NAME=VALUE@DURATION, like customers_affected=120@2h`,
		`--set customers_affected=-1@2h: the value must be at least 0, not -1`,
		`--set area=moon@1h: the value must be one of support, finance, operations, other, not "moon"`,
		`--set customers_affected=5@soon: "soon": a number must come before "soon"`,
	} {
		require.Contains(t, out, want)
	}
}
