package dsl_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/dsl"
)

// A string field is one line of text a person reads on the incident page,
// in the timeline ("Region eu → us") and in every message that shows it.
// The API refuses control characters, line breaks and text-reordering
// (bidi) characters in a title or a note (incidentflow.CheckString), but a
// field value carries them: PATCH /v1/incidents/{ref}/fields with
// {"fields":{"area":"fin\u202eecnan"}} or an ANSI escape is accepted, shown
// reversed on the page and written raw to the console channel.
func TestFieldValueRefusesControlCharacters(t *testing.T) {
	for _, tc := range []struct{ typ, value string }{
		{"string", "eu\u202eus"},         // right-to-left override: reads differently from what it is
		{"string", "eu\x1b[2J"},          // ANSI escape: clears a terminal
		{"string", "line one\nline two"}, // a one-line field holding a line break
		{"text", "fine\n\u0007bell"},     // text takes lines, not other control characters
		{"list", "\u2066hidden\u2069"},   // an entry is text too
	} {
		def := dsl.FieldDef{Name: "f", Type: tc.typ}
		var v any = tc.value
		if tc.typ == "list" {
			v = []any{tc.value}
		}
		_, err := dsl.NormalizeField(def, v)
		require.Error(t, err, "a %s field takes %q", tc.typ, tc.value)
		require.True(t, strings.Contains(err.Error(), "control character") || strings.Contains(err.Error(), "one line"), err.Error())
	}
}

// A count too large for a whole-number field is refused as "must be a
// whole number, not 9.007199254740992e+15": the person typed a whole
// number, 9007199254740993, and the message shows them another number in
// a notation they do not read. It must say the number is too large, and
// what the largest taken is.
func TestWholeNumberTooLargeIsSaidSo(t *testing.T) {
	for _, v := range []float64{9007199254740993, 1e20} {
		_, err := dsl.NormalizeField(dsl.FieldDef{Name: "customers_affected", Type: "int"}, v)
		require.Error(t, err)
		require.NotContains(t, err.Error(), "e+", "a number written as programmers write it")
		require.NotContains(t, err.Error(), "must be a whole number", "it is one")
		require.Contains(t, err.Error(), "too large")
	}
}

// No place on Earth is more than 14 hours from UTC, yet a time field
// takes 2026-12-23T16:00:00+23:59 and stores 2026-12-22T16:01:00Z: a slip
// of the keyboard moves the moment an incident's clocks count from (aware_at
// starts GDPR's 72 hours) by almost a day, without a word.
func TestTimeWithAnOffsetNoPlaceHasIsRefused(t *testing.T) {
	for _, v := range []string{"2026-12-23T16:00:00+23:59", "2026-12-23T16:00:00-15:00"} {
		_, err := dsl.NormalizeField(dsl.FieldDef{Name: "aware_at", Type: "time"}, v)
		require.Error(t, err, "%s is taken", v)
	}
	_, err := dsl.NormalizeField(dsl.FieldDef{Name: "aware_at", Type: "time"}, "2026-12-23T16:00:00+14:00")
	require.NoError(t, err, "Kiritimati is UTC+14")
}
