package incidentflow_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow"
)

type inner struct {
	Who string `json:"who" limit:"line,5"`
}

type request struct {
	Title   string         `json:"title" limit:"line,10"`
	Note    string         `json:"note" limit:"text,10"`
	Payload map[string]any `json:"payload" limit:"json,20"`
	Nested  inner          `json:"nested"`
	Ptr     *inner         `json:"ptr"`
	Free    string         `json:"free"`
}

// Each limit tag is checked, nested structs included, and each broken limit
// is named by the field's JSON path, in words.
func TestCheckLimits(t *testing.T) {
	ok := request{Title: "ten chars!", Note: "two\nlines", Payload: map[string]any{"a": 1}, Nested: inner{"alice"},
		Ptr: &inner{"bob"}, Free: strings.Repeat("x", 100_000)}
	require.Empty(t, incidentflow.CheckLimits(ok))
	require.Empty(t, incidentflow.CheckLimits(&ok), "a pointer is followed")
	require.Empty(t, incidentflow.CheckLimits(request{}), "nil pointers and empty values pass")

	bad := request{Title: "a title too long", Note: "bell\a", Payload: map[string]any{"long": strings.Repeat("x", 20)},
		Nested: inner{"a\nb"}, Ptr: &inner{"\xff"}}
	got := map[string]string{}
	for _, d := range incidentflow.CheckLimits(bad) {
		got[d.Field] = d.Message
	}
	require.Equal(t, map[string]string{
		"title":      "is 16 characters long; at most 10 are taken",
		"note":       "holds the invisible control character U+0007, which no text here may contain",
		"payload":    "is 31 bytes of JSON; at most 20 are taken",
		"nested.who": "must be one line: it holds a line break or a tab",
		"ptr.who":    "is not valid UTF-8 text",
	}, got)
}

// Characters, not bytes, are counted; text that would display reordered or
// hidden is refused.
func TestCheckString(t *testing.T) {
	require.Empty(t, incidentflow.CheckString("Zoë Müller", true, 10), "ten characters, twelve bytes")
	require.NotEmpty(t, incidentflow.CheckString("Zoë Müller!", true, 10))
	require.Empty(t, incidentflow.CheckString("a\r\n\tb", false, 10), "text keeps line breaks and tabs")
	for _, s := range []string{"evil\u202Etxt.exe", "a\u2028b", "nul\x00", "iso\u2066late"} {
		require.Contains(t, incidentflow.CheckString(s, false, 100), "invisible control character", "%q", s)
	}
}

// A limit tag that cannot be read is a programming error, found at once.
func TestCheckLimitsBadTag(t *testing.T) {
	type broken struct {
		N string `limit:"line,many"`
	}
	require.Panics(t, func() { incidentflow.CheckLimits(broken{}) })
}
