package channels_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/channels"
)

// posted sends m through the Slack sender to a server of the test's own and
// returns the body it posted.
func posted(t *testing.T, m channels.Message) []byte {
	t.Helper()
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "application/json", r.Header.Get("Content-Type"))
		body, _ = io.ReadAll(r.Body)
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	require.NoError(t, channels.NewSlack(srv.URL).Send(context.Background(), m))
	return body
}

// decodeSlack reads a webhook body with slack-go's types, strictly: no key
// slack-go does not know, and nothing lost (the blocks it decoded encode
// back to the same JSON).
func decodeSlack(t *testing.T, body []byte) slack.WebhookMessage {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var msg slack.WebhookMessage
	require.NoError(t, dec.Decode(&msg), "%s", body)
	var raw struct{ Blocks json.RawMessage }
	require.NoError(t, json.Unmarshal(body, &raw))
	again, err := json.Marshal(msg.Blocks)
	require.NoError(t, err)
	require.JSONEq(t, string(raw.Blocks), string(again), "slack-go's Block Kit types hold every key we send")
	return msg
}

// mrkdwnEscaped is what Slack requires of text it parses: &, < and > only
// as &amp;, &lt; and &gt;, else a title like "<!channel>" notifies everyone.
var mrkdwnEscaped = regexp.MustCompile(`^([^&<>]|&amp;|&lt;|&gt;)*$`)

// requireBlockKit checks what Slack checks of a message's blocks (Block Kit
// reference, slack-go's types and their Validate): known block types, text
// objects of the right kind within their lengths, escaped mrkdwn.
func requireBlockKit(t *testing.T, msg slack.WebhookMessage) {
	t.Helper()
	text := func(where string, o *slack.TextBlockObject, kind string, max int) {
		t.Helper()
		require.NotNil(t, o, "%s has no text", where)
		require.NoError(t, o.Validate(), "%s: %q", where, o.Text)
		require.Equal(t, kind, o.Type, where)
		require.LessOrEqual(t, utf8.RuneCountInString(o.Text), max, "%s is longer than Slack takes", where)
		if kind == slack.MarkdownType {
			require.Regexp(t, mrkdwnEscaped, o.Text, "%s is not escaped for Slack", where)
		}
	}
	require.NotEmpty(t, msg.Text, "the fallback text notifications show")
	require.LessOrEqual(t, utf8.RuneCountInString(msg.Text), 40_000, "Slack cuts text longer than 40,000 characters")
	require.Regexp(t, mrkdwnEscaped, msg.Text, "the fallback text is mrkdwn too")
	require.NotNil(t, msg.Blocks)
	require.NotEmpty(t, msg.Blocks.BlockSet)
	require.LessOrEqual(t, len(msg.Blocks.BlockSet), 50, "a message holds at most 50 blocks")
	for _, b := range msg.Blocks.BlockSet {
		switch b := b.(type) {
		case *slack.HeaderBlock:
			text("header", b.Text, slack.PlainTextType, 150)
		case *slack.SectionBlock:
			require.True(t, b.Text != nil || len(b.Fields) > 0, "a section has text or fields")
			if b.Text != nil {
				text("section text", b.Text, slack.MarkdownType, 3000)
			}
			require.LessOrEqual(t, len(b.Fields), 10, "a section has at most 10 fields")
			for _, f := range b.Fields {
				text("section field", f, slack.MarkdownType, 2000)
			}
		case *slack.ActionBlock:
			require.NotEmpty(t, b.Elements.ElementSet)
			require.LessOrEqual(t, len(b.Elements.ElementSet), 25, "an actions block has at most 25 elements")
			for _, e := range b.Elements.ElementSet {
				button, ok := e.(*slack.ButtonBlockElement)
				require.True(t, ok, "only buttons: %T", e)
				text("button", button.Text, slack.PlainTextType, 75)
				require.LessOrEqual(t, len(button.URL), 3000)
				require.NotEmpty(t, button.ActionID)
				require.LessOrEqual(t, len(button.ActionID), 255)
			}
		default:
			t.Fatalf("a block of a type the sender should not send: %T", b)
		}
	}
}

// shown is mrkdwn as a reader sees it.
func shown(s string) string {
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}

func TestSlackPayloadIsValidBlockKit(t *testing.T) {
	start := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	base := message()
	base.Incident.URL = "http://127.0.0.1:8080/v1/incidents/INC-1"
	for _, tc := range []struct {
		name   string
		mutate func(*channels.Message)
		check  func(t *testing.T, sent channels.Message, msg slack.WebhookMessage)
	}{
		{"Plain", func(m *channels.Message) {}, nil},
		{"ReservedCharacters", func(m *channels.Message) {
			m.Incident.Title = "Checkout <!channel> & <@U024BE7LH> down"
			m.Message = "Error rate <50%> & rising: <!here|here> <https://evil.example.com|click>"
		}, func(t *testing.T, sent channels.Message, msg slack.WebhookMessage) {
			section := msg.Blocks.BlockSet[1].(*slack.SectionBlock)
			require.Equal(t, sent.Message, shown(section.Text.Text), "shown as written, no mention, no link")
			require.Contains(t, shown(msg.Text), sent.Incident.Title)
		}},
		{"TitleAtTheLimit", func(m *channels.Message) {
			m.Event, m.Level = "page", 3
			m.Incident.Title = strings.Repeat("ä&", incidentflow.MaxTitle/2)
		}, func(t *testing.T, sent channels.Message, msg slack.WebhookMessage) {
			header := msg.Blocks.BlockSet[0].(*slack.HeaderBlock).Text.Text
			require.True(t, strings.HasPrefix(header, "Page (level 3) · INC-1: ä&ä&"), header)
			require.True(t, strings.HasSuffix(header, "…"), "cut with an ellipsis: %s", header)
		}},
		{"MessageAtTheNoteLimit", func(m *channels.Message) {
			m.Message = strings.Repeat("<&>", incidentflow.MaxText/3) + "!"
		}, func(t *testing.T, sent channels.Message, msg slack.WebhookMessage) {
			section := shown(msg.Blocks.BlockSet[1].(*slack.SectionBlock).Text.Text)
			require.True(t, strings.HasSuffix(section, "…"), "cut with an ellipsis")
			require.True(t, strings.HasPrefix(sent.Message, strings.TrimSuffix(section, "…")), "cut between characters, never inside &amp;")
			require.True(t, strings.HasSuffix(msg.Text, "…"))
		}},
		{"EmptyMessage", func(m *channels.Message) { m.Message = "" }, nil},
		{"Invitation", func(m *channels.Message) {
			m.Event = "review"
			m.Message = "You are invited to the review of INC-1 & its follow-ups."
			m.Invitation = &channels.Invitation{UID: "u@incidentflow", Start: start, End: start.Add(time.Hour), Summary: "Post-incident review: INC-1 R&D <build> down", Stamp: start}
		}, func(t *testing.T, sent channels.Message, msg slack.WebhookMessage) {
			section := msg.Blocks.BlockSet[1].(*slack.SectionBlock).Text.Text
			require.Equal(t, "You are invited to the review of INC-1 &amp; its follow-ups.\n*Post-incident review: INC-1 R&amp;D &lt;build&gt; down*: Fri 4 Dec 2026 10:00–11:00 UTC", section, "escaped once")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := base
			tc.mutate(&m)
			msg := decodeSlack(t, posted(t, m))
			requireBlockKit(t, msg)
			if tc.check != nil {
				tc.check(t, m, msg)
			}
		})
	}
}
