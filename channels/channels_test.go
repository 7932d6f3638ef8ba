package channels_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/channels"
	"github.com/incidentflow/incidentflow/dsl"
)

func message() channels.Message {
	return channels.Message{Event: "notify", Channel: "hook", Message: "Checkout is down", IdempotencyKey: "incident-INC-1/announce#1/channel:hook",
		Incident: channels.Incident{Ref: "INC-1", Type: "engineering", Title: "Checkout is down", Severity: "critical", Status: "investigating"}}
}

func TestWebhookDeliversSignedJSON(t *testing.T) {
	var got map[string]any
	var verifyErr error
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		verifyErr = channels.Verify("s3cret", r.Header.Get(channels.SignatureHeader), body, time.Now())
		_ = json.Unmarshal(body, &got)
		require.Equal(t, "application/json", r.Header.Get("Content-Type"))
		require.Equal(t, "incident-INC-1/announce#1/channel:hook", r.Header.Get("Idempotency-Key"))
		w.WriteHeader(http.StatusAccepted)
	}))
	defer receiver.Close()

	require.NoError(t, channels.NewWebhook(receiver.URL, "s3cret").Send(context.Background(), message()))
	require.NoError(t, verifyErr)
	require.Equal(t, "notify", got["event"])
	require.Equal(t, "Checkout is down", got["message"])
	require.Equal(t, "incident-INC-1/announce#1/channel:hook", got["idempotency_key"])
	require.Equal(t, map[string]any{"ref": "INC-1", "type": "engineering", "title": "Checkout is down", "severity": "critical", "status": "investigating"}, got["incident"])
}

func TestWebhookFailures(t *testing.T) {
	for _, tc := range []struct {
		name      string
		status    int
		permanent bool
	}{
		{"ServerErrorIsTransient", 500, false},
		{"TooManyRequestsIsTransient", 429, false},
		{"RequestTimeoutIsTransient", 408, false},
		{"BadRequestIsPermanent", 400, true},
		{"NotFoundIsPermanent", 404, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				http.Error(w, "no thanks", tc.status)
			}))
			defer receiver.Close()
			err := channels.NewWebhook(receiver.URL, "").Send(context.Background(), message())
			require.Error(t, err)
			require.Contains(t, err.Error(), "no thanks")
			require.Equal(t, tc.permanent, incidentflow.ErrorCode(err) == incidentflow.EPERMANENT, err)
		})
	}
	t.Run("ReceiverTooSlowIsTransient", func(t *testing.T) {
		receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}))
		defer receiver.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		err := channels.NewWebhook(receiver.URL, "").Send(ctx, message())
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.NotEqual(t, incidentflow.EPERMANENT, incidentflow.ErrorCode(err))
	})
	t.Run("ClosedConnectionIsTransient", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				_ = c.Close()
			}
		}()
		defer func() { _ = l.Close() }()
		err = channels.NewWebhook("http://"+l.Addr().String(), "").Send(context.Background(), message())
		require.Error(t, err)
		require.NotEqual(t, incidentflow.EPERMANENT, incidentflow.ErrorCode(err))
	})
}

func TestVerify(t *testing.T) {
	body := []byte(`{"event":"page"}`)
	now := time.Unix(1_800_000_000, 0)
	header := channels.Sign("s3cret", now, body)
	require.NoError(t, channels.Verify("s3cret", header, body, now.Add(time.Minute)))
	for name, check := range map[string]error{
		"WrongSecret":  channels.Verify("other", header, body, now),
		"TamperedBody": channels.Verify("s3cret", header, []byte(`{"event":"notify"}`), now),
		"Replayed":     channels.Verify("s3cret", header, body, now.Add(6*time.Minute)),
		"Malformed":    channels.Verify("s3cret", "v1=abc", body, now),
	} {
		require.Error(t, check, name)
	}
	require.EqualError(t, channels.Verify("s3cret", header, body, now.Add(6*time.Minute)), "signature timestamp is 6m0s away from now, more than 5m0s")
}

type printed struct{ lines []string }

func (p *printed) Println(s string) { p.lines = append(p.lines, s) }

func TestBuild(t *testing.T) {
	dir := &dsl.Directory{Channels: []dsl.Channel{
		{ID: "console", Type: "console"},
		{ID: "hook", Type: "webhook", URLEnv: "HOOK_URL", SecretEnv: "HOOK_SECRET"},
		{ID: "fixed", Type: "webhook", URL: "http://127.0.0.1:1/x"},
	}}
	env := map[string]string{"HOOK_URL": "http://127.0.0.1:1/hook"}
	out := &printed{}
	senders, problems := channels.Build(dir, channels.Config{Console: out, Getenv: func(k string) string { return env[k] }})
	require.Len(t, problems, 1)
	require.EqualError(t, problems[0], "channel hook: environment variable HOOK_SECRET (its signing secret) is not set")
	require.Contains(t, senders, "console")
	require.Contains(t, senders, "fixed")
	require.NotContains(t, senders, "hook")

	m := message()
	m.Channel = "console"
	m.Recipient = &channels.Recipient{ID: "alice", Name: "Alice Ng"}
	require.NoError(t, senders["console"].Send(context.Background(), m))
	require.Equal(t, []string{"[INC-1] Notify critical → Alice Ng (alice) via #console: Checkout is down"}, out.lines)
	require.True(t, strings.HasPrefix(out.lines[0], "[INC-1]"))
}
