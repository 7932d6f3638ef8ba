package api

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// An audit entry keeps at most maxDetail characters of what a request
// said (access.go), and printable cuts there, but before it quotes: text
// that is not a printable line (invalid UTF-8, control characters) is
// then quoted byte by byte, \xff for each, and the entry keeps four times
// the bound, or more. The bound must hold of what is written.
func TestPrintableKeepsToMaxDetail(t *testing.T) {
	for name, s := range map[string]string{
		"InvalidUTF8":       strings.Repeat("\xff", maxDetail-1),
		"ControlCharacters": strings.Repeat("\x01", 2*maxDetail),
	} {
		t.Run(name, func(t *testing.T) {
			got := printable(s)
			require.LessOrEqual(t, len([]rune(got)), maxDetail, "the audit entry keeps %d characters, over the bound of %d", len([]rune(got)), maxDetail)
		})
	}
}
