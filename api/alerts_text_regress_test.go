package api_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow"
)

// An alert's text is cleaned before it declares (oneLine, alertSummary),
// so that nothing a monitoring system writes keeps its incident from being
// declared; but a summary annotation that cleans to nothing (a template
// that rendered to a space or a line break, a zero-width space) leaves the
// incident with no title, and a line or paragraph separator (U+2028,
// U+2029, which JSON carries raw and web pages paste) is kept in the
// summary, which the declaration then refuses. Since f889b21 either
// refuses the whole notification with 422, which Alertmanager never sends
// again: every other alert of the group, a critical one beside it, is lost
// with it, and so is every later notification of the group while the alert
// fires.
func TestAlertTextThatCleansBadlyDoesNotRefuseTheNotification(t *testing.T) {
	s := setup(t)
	am := s.service(t, "alertmanager", incidentflow.RoleDeclarer)
	for _, tc := range []struct{ name, annotations, labels string }{
		{"BlankSummary", `"summary":" "`, `"alertname":"Blank"`},
		{"LineBreakSummary", `"summary":"\n"`, `"alertname":"Break"`},
		{"ZeroWidthSummary", `"summary":"\u200b"`, `"alertname":"ZeroWidth"`},
		{"LineSeparatorInDescription", `"description":"Disk full\u2028on db-2"`, `"alertname":"Separator"`},
		{"ParagraphSeparatorInLabel", `"summary":"Disk full"`, `"alertname":"Paragraph","zone":"eu\u2029west"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prefix := fmt.Sprintf("text-%s-%d", tc.name, time.Now().UnixNano())
			body := fmt.Sprintf(`{"version":"4","status":"firing","alerts":[
				{"status":"firing","fingerprint":"%[1]s-odd","labels":{%[2]s},"annotations":{%[3]s}},
				{"status":"firing","fingerprint":"%[1]s-critical","labels":{"alertname":"CheckoutDown","severity":"critical"},"annotations":{"summary":"Checkout is down"}}]}`,
				prefix, tc.labels, tc.annotations)
			r := s.do(t, "POST", "/v1/alerts/alertmanager?type=engineering", body, am...)
			require.Equal(t, http.StatusOK, r.status, "an alert's odd text refused the whole notification: %s", r.raw)
			got := results(t, r)
			require.Equal(t, "declared", got[prefix+"-critical"][0], "the critical alert beside it")
			require.Equal(t, "declared", got[prefix+"-odd"][0], "the alert with the odd text")
			require.NotEmpty(t, s.do(t, "GET", "/v1/incidents/"+got[prefix+"-odd"][1], "").str("title"))
		})
	}
}
