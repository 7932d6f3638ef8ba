package channels_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/channels"
	"github.com/incidentflow/incidentflow/dsl"
)

// receiver records JSON bodies and answers with status.
type receiver struct {
	mu     sync.Mutex
	bodies []map[string]any
	status int
	answer string
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	rc.mu.Lock()
	rc.bodies = append(rc.bodies, body)
	status, answer := rc.status, rc.answer
	rc.mu.Unlock()
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, answer)
}

func TestSlackPostsBlockKit(t *testing.T) {
	rc := &receiver{answer: "ok"}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	m := message()
	m.Incident.URL = "http://localhost:8080/v1/incidents/INC-1"
	m.Message = "Error rate <50%> & rising"
	require.NoError(t, channels.NewSlack(srv.URL).Send(context.Background(), m))

	require.Len(t, rc.bodies, 1)
	got := rc.bodies[0]
	require.Equal(t, "[critical] INC-1 Checkout is down: Error rate &lt;50%&gt; &amp; rising", got["text"], "Slack parses the fallback text too")
	blocks := got["blocks"].([]any)
	require.Equal(t, map[string]any{"type": "header", "text": map[string]any{"type": "plain_text", "text": "INC-1: Checkout is down", "emoji": true}}, blocks[0])
	require.Equal(t, "Error rate &lt;50%&gt; &amp; rising", blocks[1].(map[string]any)["text"].(map[string]any)["text"])
	fields := blocks[2].(map[string]any)["fields"].([]any)
	require.Equal(t, "*Severity*\ncritical", fields[0].(map[string]any)["text"])
	require.Equal(t, "*Status*\ninvestigating", fields[1].(map[string]any)["text"])
	button := blocks[3].(map[string]any)["elements"].([]any)[0].(map[string]any)
	require.Equal(t, "button", button["type"])
	require.Equal(t, "http://localhost:8080/v1/incidents/INC-1", button["url"])
}

func TestSlackFailures(t *testing.T) {
	for _, tc := range []struct {
		status    int
		answer    string
		permanent bool
	}{
		{400, "invalid_payload", true},
		{403, "action_prohibited", true},
		{404, "no_service", true},
		{410, "channel_is_archived", true},
		{429, "rate_limited", false},
		{500, "rollup_error", false},
	} {
		t.Run(tc.answer, func(t *testing.T) {
			srv := httptest.NewServer(&receiver{status: tc.status, answer: tc.answer})
			defer srv.Close()
			err := channels.NewSlack(srv.URL+"/services/T0/B0/secret").Send(context.Background(), message())
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.answer)
			require.NotContains(t, err.Error(), "secret", "the webhook URL is a secret and stays out of errors")
			require.Equal(t, tc.permanent, incidentflow.ErrorCode(err) == incidentflow.EPERMANENT, err)
		})
	}
}

func TestPagerDutyEvents(t *testing.T) {
	rc := &receiver{status: http.StatusAccepted, answer: `{"status":"success","dedup_key":"k"}`}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	pd := channels.NewPagerDuty(srv.URL, "R0UT1NG")
	m := message()
	m.Event, m.Level = "page", 1
	m.Incident.SeverityLevel = 1
	m.Incident.URL = "http://localhost:8080/v1/incidents/INC-1"
	m.Recipient = &channels.Recipient{ID: "alice", Name: "Alice Ng"}
	require.NoError(t, pd.Send(context.Background(), m))
	require.NoError(t, pd.Follow(context.Background(), channels.FollowUp{Event: "acknowledge", DedupKey: m.IdempotencyKey}))
	require.NoError(t, pd.Follow(context.Background(), channels.FollowUp{Event: "resolve", DedupKey: m.IdempotencyKey}))

	require.Len(t, rc.bodies, 3)
	trigger := rc.bodies[0]
	require.Equal(t, "R0UT1NG", trigger["routing_key"])
	require.Equal(t, "trigger", trigger["event_action"])
	require.Equal(t, m.IdempotencyKey, trigger["dedup_key"])
	payload := trigger["payload"].(map[string]any)
	require.Equal(t, "INC-1 Checkout is down: Checkout is down", payload["summary"])
	require.Equal(t, "incidentflow", payload["source"])
	require.Equal(t, "critical", payload["severity"])
	require.Equal(t, "alice", payload["custom_details"].(map[string]any)["recipient"])
	require.Equal(t, map[string]any{"routing_key": "R0UT1NG", "event_action": "acknowledge", "dedup_key": m.IdempotencyKey}, rc.bodies[1])
	require.Equal(t, map[string]any{"routing_key": "R0UT1NG", "event_action": "resolve", "dedup_key": m.IdempotencyKey}, rc.bodies[2])

	require.Equal(t, []string{"critical", "error", "warning", "info", "error"},
		[]string{channels.PagerDutySeverity(1), channels.PagerDutySeverity(2), channels.PagerDutySeverity(3), channels.PagerDutySeverity(4), channels.PagerDutySeverity(0)})

	bad := httptest.NewServer(&receiver{status: 400, answer: `{"status":"invalid event","errors":["routing_key is invalid"]}`})
	defer bad.Close()
	err := channels.NewPagerDuty(bad.URL, "nope").Send(context.Background(), m)
	require.Equal(t, incidentflow.EPERMANENT, incidentflow.ErrorCode(err), err)
	require.Contains(t, err.Error(), "routing_key is invalid")
}

func TestBuildEveryChannelType(t *testing.T) {
	dir := &dsl.Directory{
		SMTP: &dsl.SMTP{Server: "127.0.0.1:25", From: "incidents@example.com", Username: "bot", PasswordEnv: "SMTP_PASSWORD"},
		Channels: []dsl.Channel{
			{ID: "mail", Type: "email", To: []string{"legal@example.com"}},
			{ID: "chat", Type: "slack", WebhookURLEnv: "SLACK_URL"},
			{ID: "pd", Type: "pagerduty", RoutingKeyEnv: "PD_KEY"},
			{ID: "pd-eu", Type: "pagerduty", RoutingKeyEnv: "PD_EU_KEY", EventsURL: "https://events.eu.pagerduty.com/v2/enqueue"},
		}}
	env := map[string]string{"SLACK_URL": "https://hooks.slack.com/services/x", "PD_KEY": "k"}
	senders, problems := channels.Build(dir, channels.Config{Getenv: func(k string) string { return env[k] }})
	require.Len(t, problems, 2)
	require.EqualError(t, problems[0], "channel mail: environment variable SMTP_PASSWORD (the SMTP password) is not set")
	require.EqualError(t, problems[1], "channel pd-eu: environment variable PD_EU_KEY (its routing key) is not set")
	require.IsType(t, &channels.Slack{}, senders["chat"])
	require.Implements(t, (*channels.Follower)(nil), senders["pd"])
	require.NotContains(t, senders, "mail")
}
