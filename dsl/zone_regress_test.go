package dsl_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/dsl"
)

// The Etc/GMT±N zones load from the built-in database, and their sign is
// the POSIX one, the opposite of what people read: Etc/GMT+1, written for
// Paris in winter, is an hour behind UTC, all year. They keep one clock
// all year as GMT and EST do, which earn a caution; these earn none, and a
// directory that means Central Europe silently counts its business days
// two hours off.
func TestEtcGMTZonesAreCautioned(t *testing.T) {
	loc, err := dsl.LoadLocation("Etc/GMT+1")
	require.NoError(t, err)
	_, offset := time.Date(2026, 1, 15, 12, 0, 0, 0, loc).Zone()
	require.Equal(t, -3600, offset, "Etc/GMT+1 is UTC-1")
	for _, name := range []string{"Etc/GMT+1", "Etc/GMT-2", "Etc/GMT+5"} {
		require.NotEmpty(t, dsl.ZoneWarning(name), "%s keeps one clock all year, its sign inverted: it deserves the caution GMT gets", name)
	}
}
