package channels

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
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

// Slack's Block Kit limits: a text longer than its block allows fails the
// whole message (invalid_blocks).
const (
	slackHeader  = 150  // characters of a header's plain text
	slackSection = 3000 // characters of a section's mrkdwn text
	slackText    = 3000 // characters of the fallback text we send (Slack takes 40,000)
)

// SlackPayload is the incoming-webhook JSON for m. Every text Slack parses
// as mrkdwn (the sections and the fallback text notifications show) is
// escaped, so a title like "<!channel>" notifies no one, and every text is
// cut to its block's limit with an ellipsis; a message with nothing to say
// has no section, as Slack refuses an empty one.
func SlackPayload(m Message) map[string]any {
	inc := m.Incident
	var invitation string
	if inv := m.Invitation; inv != nil {
		invitation = "*" + mrkdwn(inv.Summary, slackSection/2) + "*: " + mrkdwn(When(inv), 100)
	}
	var text string
	if strings.TrimSpace(m.Message) != "" {
		room := slackSection
		if invitation != "" {
			room -= utf8.RuneCountInString(invitation) + 1
		}
		text = mrkdwn(m.Message, room)
	}
	if invitation != "" {
		text = strings.TrimPrefix(text+"\n"+invitation, "\n")
	}
	heading := inc.Ref + ": " + inc.Title
	if m.Event == "page" {
		heading = fmt.Sprintf("Page (level %d) · %s", m.Level, heading)
	}
	blocks := []any{
		map[string]any{"type": "header", "text": map[string]any{"type": "plain_text", "text": clip(heading, slackHeader), "emoji": true}},
	}
	if text != "" {
		blocks = append(blocks, map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": text}})
	}
	blocks = append(blocks, map[string]any{"type": "section", "fields": []any{
		map[string]any{"type": "mrkdwn", "text": "*Severity*\n" + mrkdwn(inc.Severity, 100)},
		map[string]any{"type": "mrkdwn", "text": "*Status*\n" + mrkdwn(inc.Status, 100)},
		map[string]any{"type": "mrkdwn", "text": "*Type*\n" + mrkdwn(inc.Type, 100)},
	}})
	if inc.URL != "" {
		blocks = append(blocks, map[string]any{"type": "actions", "elements": []any{
			map[string]any{"type": "button", "text": map[string]any{"type": "plain_text", "text": clip("Open "+inc.Ref, 75)},
				"url": inc.URL, "action_id": "open-incident"},
		}})
	}
	fallback := fmt.Sprintf("[%s] %s %s", inc.Severity, inc.Ref, inc.Title)
	if strings.TrimSpace(m.Message) != "" {
		fallback += ": " + m.Message
	}
	return map[string]any{"text": mrkdwn(fallback, slackText), "blocks": blocks}
}

// mrkdwn escapes the three characters Slack's mrkdwn reserves (&, <, >) and
// keeps the result within max characters, cutting between characters of s,
// never inside an escape, with an ellipsis.
func mrkdwn(s string, max int) string {
	escaped := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
	if utf8.RuneCountInString(escaped) <= max {
		return escaped
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		piece, width := string(r), 1
		switch r {
		case '&':
			piece, width = "&amp;", 5
		case '<':
			piece, width = "&lt;", 4
		case '>':
			piece, width = "&gt;", 4
		}
		if n+width > max-1 {
			break
		}
		b.WriteString(piece)
		n += width
	}
	return b.String() + "…"
}

// clip keeps plain text within n characters, which Slack enforces per block.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
