package channels

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Slack posts to an incoming webhook: a fallback text and Block Kit blocks
// with the title, severity, status and a button to the incident.
type Slack struct {
	url    string
	client *http.Client
}

// NewSlack returns a sender for the incoming webhook at url.
func NewSlack(url string) *Slack {
	return &Slack{url: url, client: &http.Client{Timeout: 10 * time.Second}}
}

// Send posts m. Slack answers 400 for a malformed payload and 403, 404 or 410
// for a webhook that is gone: those are permanent; 429 and 5xx are transient.
func (s *Slack) Send(ctx context.Context, m Message) error {
	body, err := json.Marshal(SlackPayload(m))
	if err != nil {
		return permanent("encode slack message: %v", err)
	}
	return postJSON(ctx, s.client, "slack webhook", s.url, body, nil)
}

// SlackPayload is the incoming-webhook JSON for m.
func SlackPayload(m Message) map[string]any {
	inc := m.Incident
	text := m.Message
	if inv := m.Invitation; inv != nil {
		text += "\n*" + slackEscape(inv.Summary) + "*: " + inv.When()
	}
	heading := inc.Ref + ": " + inc.Title
	if m.Event == "page" {
		heading = fmt.Sprintf("Page (level %d) · %s", m.Level, heading)
	}
	blocks := []any{
		map[string]any{"type": "header", "text": map[string]any{"type": "plain_text", "text": clip(heading, 150), "emoji": true}},
		map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": clip(slackEscape(text), 3000)}},
		map[string]any{"type": "section", "fields": []any{
			map[string]any{"type": "mrkdwn", "text": "*Severity*\n" + slackEscape(inc.Severity)},
			map[string]any{"type": "mrkdwn", "text": "*Status*\n" + slackEscape(inc.Status)},
			map[string]any{"type": "mrkdwn", "text": "*Type*\n" + slackEscape(inc.Type)},
		}},
	}
	if inc.URL != "" {
		blocks = append(blocks, map[string]any{"type": "actions", "elements": []any{
			map[string]any{"type": "button", "text": map[string]any{"type": "plain_text", "text": "Open " + inc.Ref},
				"url": inc.URL, "action_id": "open-incident"},
		}})
	}
	return map[string]any{
		"text":   clip(fmt.Sprintf("[%s] %s %s: %s", inc.Severity, inc.Ref, inc.Title, m.Message), 3000),
		"blocks": blocks,
	}
}

// slackEscape escapes the three characters Slack's mrkdwn reserves.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// clip keeps s within n characters, which Slack enforces per block.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
