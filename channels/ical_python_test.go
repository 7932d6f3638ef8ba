package channels_test

import (
	"net/mail"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/channels"
)

// python3-icalendar (Debian's python3-icalendar) reads our invitation back:
// every summary a title can make comes back as it was, but for control
// characters, which RFC 5545 allows nowhere in a TEXT value but a tab: they
// are dropped, and the file holds none.
func TestICSReadBackByPythonICalendar(t *testing.T) {
	// Debian's python3, where apt-get install python3-icalendar puts the module.
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import icalendar").Run(); err != nil {
		t.Fatal("python3-icalendar is needed: apt-get install python3-icalendar")
	}
	start := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	for _, summary := range []string{
		"Post-incident review: INC-7 Checkout, payments; and \"refunds\" — ünïcödé " + strings.Repeat("é", 60),
		"Post-incident review: INC-8 Disk full\x1b[2K\x0bagain",
	} {
		ics := channels.ICS(channels.Invitation{UID: "k@incidentflow", Start: start, End: start.Add(time.Hour), Summary: summary, Stamp: start,
			Attendees: []channels.Recipient{{ID: "alice", Name: "Alice, Ng", Email: "alice@example.com"}}}, mail.Address{Name: "Incidents", Address: "incidents@example.com"})
		for _, c := range string(ics) {
			require.False(t, c < 0x20 && c != '\r' && c != '\n' && c != '\t' || c == 0x7f, "a control character %U in the file: %q", c, summary)
		}
		cmd := exec.Command(python, "-c", `
import sys, icalendar
cal = icalendar.Calendar.from_ical(sys.stdin.buffer.read())
ev = cal.walk("VEVENT")[0]
sys.stdout.write(str(ev["SUMMARY"]))`)
		cmd.Stdin = strings.NewReader(string(ics))
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		require.Equal(t, strings.Map(func(r rune) rune {
			if r < 0x20 && r != '\t' {
				return -1
			}
			return r
		}, summary), string(out))
	}
}

// python3-icalendar reads a cancellation as calendar clients must: the same
// event (UID), a later SEQUENCE, METHOD:CANCEL and STATUS:CANCELLED.
func TestICSCancellationReadBackByPythonICalendar(t *testing.T) {
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import icalendar").Run(); err != nil {
		t.Fatal("python3-icalendar is needed: apt-get install python3-icalendar")
	}
	start := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	ics := channels.ICS(channels.Invitation{UID: "k@incidentflow", Sequence: 2, Start: start, End: start.Add(time.Hour), Summary: "Review", Stamp: start,
		Cancelled: true}, mail.Address{Name: "Incidents", Address: "incidents@example.com"})
	cmd := exec.Command(python, "-c", `
import sys, icalendar
cal = icalendar.Calendar.from_ical(sys.stdin.buffer.read())
ev = cal.walk("VEVENT")[0]
sys.stdout.write("%s %s %s %s" % (cal["METHOD"], ev["UID"], ev["SEQUENCE"], ev["STATUS"]))`)
	cmd.Stdin = strings.NewReader(string(ics))
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Equal(t, "CANCEL k@incidentflow 2 CANCELLED", string(out))
}
