package channels_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/channels"
	"github.com/incidentflow/incidentflow/channels/smtptest"
	"github.com/incidentflow/incidentflow/tooltest"
)

// mailpit is a real Mailpit (see .ci/go-tools) on the loopback interface:
// SMTP that requires STARTTLS (with a certificate of the test's own) and a
// login, and the HTTP API that shows what it received.
type mailpit struct {
	smtp, api string
	tls       *tls.Config // trusts its certificate
}

const mailpitUser, mailpitPassword = "incidents-bot", "s3cret-pa55"

func startMailpit(t *testing.T) *mailpit {
	t.Helper()
	bin := tooltest.Find(t, "mailpit")
	cert, pool, err := smtptest.SelfSigned()
	require.NoError(t, err)
	key, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	require.NoError(t, err)
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, data, 0o600))
		return p
	}
	certFile := write("cert.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}))
	keyFile := write("key.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}))
	authFile := write("smtp-users", []byte(mailpitUser+":"+mailpitPassword+"\n"))
	m := &mailpit{smtp: fmt.Sprintf("127.0.0.1:%d", tooltest.Port(t)), api: fmt.Sprintf("http://127.0.0.1:%d", tooltest.Port(t)),
		tls: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}}
	p := tooltest.Start(t, bin,
		"--database", filepath.Join(dir, "mailpit.db"),
		"--smtp", m.smtp, "--listen", strings.TrimPrefix(m.api, "http://"),
		"--smtp-tls-cert", certFile, "--smtp-tls-key", keyFile, "--smtp-require-starttls", "--smtp-auth-file", authFile,
		"--smtp-strict-rfc-headers",
		// Nothing leaves the machine: no update check, no reverse DNS, no
		// remote CSS; the link check reaches only the test's own server.
		"--disable-version-check", "--smtp-disable-rdns", "--block-remote-css-and-fonts", "--allow-internal-http-requests")
	p.WaitHTTP(t, m.api+"/readyz")
	return m
}

// get decodes the JSON answer of a Mailpit API path into out.
func (m *mailpit) get(t *testing.T, path string, out any) {
	t.Helper()
	resp, err := http.Get(m.api + path)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", path, raw)
	if s, ok := out.(*string); ok {
		*s = string(raw)
		return
	}
	require.NoError(t, json.Unmarshal(raw, out), "%s: %s", path, raw)
}

// mailpitAddress, mailpitMessage and mailpitAttachment are the parts of
// Mailpit's message (GET /api/v1/message/{ID}) the test reads.
type mailpitAddress struct{ Name, Address string }

type mailpitAttachment struct {
	PartID, FileName, ContentType string
}

type mailpitMessage struct {
	ID, MessageID, Subject, Text, HTML string
	From                               mailpitAddress
	To                                 []mailpitAddress
	Date                               time.Time
	Attachments, Inline                []mailpitAttachment
}

// received waits for n messages and returns them, oldest first.
func (m *mailpit) received(t *testing.T, n int) []mailpitMessage {
	t.Helper()
	var list struct {
		Messages []struct{ ID string }
	}
	require.Eventually(t, func() bool {
		m.get(t, "/api/v1/messages?limit=100", &list)
		return len(list.Messages) >= n
	}, 10*time.Second, 50*time.Millisecond, "Mailpit has not received %d messages", n)
	require.Len(t, list.Messages, n)
	out := make([]mailpitMessage, n)
	for i, s := range list.Messages { // newest first
		m.get(t, "/api/v1/message/"+s.ID, &out[n-1-i])
	}
	return out
}

// structure is the MIME tree of a raw message, one content type (with the
// parameters that matter to mail clients) a line, indented by depth.
func structure(t *testing.T, raw string) []string {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(raw))
	require.NoError(t, err)
	var out []string
	var walk func(contentType string, body io.Reader, depth int)
	walk = func(contentType string, body io.Reader, depth int) {
		mt, params, err := mime.ParseMediaType(contentType)
		require.NoError(t, err)
		line := strings.Repeat("  ", depth) + mt
		for _, p := range []string{"charset", "method", "name"} {
			if v := params[p]; v != "" {
				line += "; " + p + "=" + v
			}
		}
		out = append(out, line)
		if !strings.HasPrefix(mt, "multipart/") {
			return
		}
		r := multipart.NewReader(body, params["boundary"])
		for {
			part, err := r.NextRawPart()
			if err == io.EOF {
				return
			}
			require.NoError(t, err)
			walk(part.Header.Get("Content-Type"), part, depth+1)
		}
	}
	walk(msg.Header.Get("Content-Type"), msg.Body, 0)
	return out
}

// requireShortLines checks RFC 5322 §2.1.1: no line of a message is longer
// than 998 characters.
func requireShortLines(t *testing.T, raw string) {
	t.Helper()
	for _, l := range strings.Split(raw, "\r\n") {
		require.LessOrEqual(t, len(l), 998, "a line longer than RFC 5322 allows: %.120q…", l)
	}
}

// icsProperties unfolds an iCalendar object and returns the value of each
// property of its event by name, with the parameters in name;PARAMS form
// under the bare name too.
func icsProperties(t *testing.T, ics string) map[string]string {
	t.Helper()
	require.True(t, strings.HasSuffix(ics, "\r\n"), "iCalendar lines end in CRLF")
	out := map[string]string{}
	for _, l := range strings.Split(strings.ReplaceAll(ics, "\r\n ", ""), "\r\n") {
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		bare, _, _ := strings.Cut(name, ";")
		if bare == "BEGIN" || bare == "END" {
			continue
		}
		out[bare], out[name] = value, value
	}
	return out
}

func TestMailpitReceivesWhatEmailSends(t *testing.T) {
	mp := startMailpit(t)
	// The link check follows the incident's link: it goes to a server of the
	// test's own, on the loopback interface.
	links := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer links.Close()
	e, err := channels.NewEmail(channels.SMTPConfig{Server: mp.smtp, From: "Zwischenfälle <incidents@example.com>",
		Username: mailpitUser, Password: mailpitPassword, StartTLS: "required", TLS: mp.tls}, []string{"legal@example.com"})
	require.NoError(t, err)
	ctx := context.Background()

	title := "Zahlungen schlagen fehl — café ☕ 支付失败"
	note := channels.Message{Event: "notify", Channel: "legal-email", IdempotencyKey: "incident-INC-7/announce/channel:legal-email",
		Message:  "Grüße: the café's payments <fail> & 支付失败 since 09:10.\nSecond line: rolled back.",
		Incident: channels.Incident{Ref: "INC-7", Type: "engineering", Title: title, Severity: "critical", Status: "investigating", URL: links.URL + "/v1/incidents/INC-7"}}
	require.NoError(t, e.Send(ctx, note))
	require.NoError(t, e.Send(ctx, note)) // the same delivery again, as after a crash before it was recorded
	long := note
	long.IdempotencyKey = "incident-INC-8/announce/channel:legal-email"
	long.Incident.Ref, long.Incident.Title = "INC-8", strings.Repeat("支付失败 ", 39)+"支付失败" // the 200 characters a title may have
	require.NoError(t, e.Send(ctx, long))

	start := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	bjorn := channels.Recipient{ID: "bjorn", Name: "Bjørn Ødegård", Email: "bjorn@example.com"}
	invite := func(seq int, at time.Time) channels.Message {
		return channels.Message{Event: "review", Channel: "email", IdempotencyKey: fmt.Sprintf("incident-INC-7/review/v%d", seq), Recipient: &bjorn,
			Message: "Post-incident review: INC-7 is scheduled.", Incident: note.Incident,
			Invitation: &channels.Invitation{UID: "incident-INC-7/review@incidentflow", Sequence: seq, Start: at, End: at.Add(time.Hour),
				Summary: "Post-incident review: INC-7 " + title, Description: "Blameless; timeline, causes",
				Stamp: at.Add(-72 * time.Hour), TimeZone: "Europe/Berlin", Attendees: []channels.Recipient{bjorn}}}
	}
	require.NoError(t, e.Send(ctx, invite(0, start)))
	require.NoError(t, e.Send(ctx, invite(1, start.Add(24*time.Hour)))) // rescheduled

	got := mp.received(t, 5)
	raws := make([]string, len(got))
	for i, m := range got {
		mp.get(t, "/api/v1/message/"+m.ID+"/raw", &raws[i])
		requireShortLines(t, raws[i])
		require.WithinDuration(t, time.Now(), m.Date, time.Minute, "Date")
		require.Equal(t, mailpitAddress{Name: "Zwischenfälle", Address: "incidents@example.com"}, m.From)
		require.Regexp(t, `^[0-9a-f]{32}@example\.com$`, m.MessageID)
	}

	t.Run("Notification", func(t *testing.T) {
		m := got[0]
		require.Equal(t, []mailpitAddress{{Address: "legal@example.com"}}, m.To)
		require.Equal(t, "[INC-7] critical · "+title, m.Subject)
		text := strings.ReplaceAll(m.Text, "\r\n", "\n") // quoted-printable text has CRLF line ends
		require.Contains(t, text, note.Message+"\n")
		require.Contains(t, text, "Incident: INC-7: "+title+"\n")
		require.Contains(t, strings.ReplaceAll(m.HTML, "\r\n", "\n"), "Grüße: the café&#39;s payments &lt;fail&gt; &amp; 支付失败 since 09:10.<br>\nSecond line: rolled back.")
		require.Empty(t, m.Attachments)
		require.Equal(t, []string{"multipart/mixed", "  multipart/alternative", "    text/plain; charset=utf-8", "    text/html; charset=utf-8"},
			structure(t, raws[0]))
		require.Equal(t, m.MessageID, got[1].MessageID, "the same delivery is the same message")
		require.Equal(t, "[INC-8] critical · "+long.Incident.Title, got[2].Subject, "a long non-ASCII subject comes back whole")
		require.NotEqual(t, m.MessageID, got[2].MessageID)
	})

	t.Run("HTMLAndLinkChecks", func(t *testing.T) {
		var html struct {
			Warnings []struct{ Slug, Title string }
		}
		mp.get(t, "/api/v1/message/"+got[0].ID+"/html-check", &html)
		var slugs []string
		for _, w := range html.Warnings {
			slugs = append(slugs, w.Slug)
		}
		// Every HTML message has a <body>, which some webmail replaces by a
		// <div>: harmless while it carries nothing (no style, no attribute).
		require.Equal(t, []string{"html-body"}, slugs, "Mailpit's HTML check: %+v", html.Warnings)
		require.Contains(t, got[0].HTML, "<body>")
		var links struct {
			Errors int
			Links  []struct {
				URL        string
				StatusCode int
			}
		}
		mp.get(t, "/api/v1/message/"+got[0].ID+"/link-check", &links)
		require.Zero(t, links.Errors, "%+v", links.Links)
		require.Len(t, links.Links, 1)
		require.Equal(t, note.Incident.URL, links.Links[0].URL)
	})

	t.Run("Invitation", func(t *testing.T) {
		first, moved := got[3], got[4]
		require.Equal(t, []mailpitAddress{{Name: "Bjørn Ødegård", Address: "bjorn@example.com"}}, first.To)
		require.Equal(t, "Invitation: Post-incident review: INC-7 "+title+" @ Fri 4 Dec 2026 11:00–12:00 CET", first.Subject)
		require.Equal(t, "Updated invitation: Post-incident review: INC-7 "+title+" @ Sat 5 Dec 2026 11:00–12:00 CET", moved.Subject)
		require.NotEqual(t, first.MessageID, moved.MessageID, "each version is its own message")
		require.Equal(t, []string{"multipart/mixed", "  multipart/alternative", "    text/plain; charset=utf-8", "    text/html; charset=utf-8",
			"    text/calendar; charset=utf-8; method=REQUEST", "  application/ics; name=invite.ics"}, structure(t, raws[3]))
		var props [2]map[string]string
		for i, m := range []mailpitMessage{first, moved} {
			require.Len(t, m.Attachments, 1)
			require.Equal(t, "invite.ics", m.Attachments[0].FileName)
			var ics string
			mp.get(t, "/api/v1/message/"+m.ID+"/part/"+m.Attachments[0].PartID, &ics)
			props[i] = icsProperties(t, ics)
		}
		for _, p := range props {
			require.Equal(t, "REQUEST", p["METHOD"])
			require.Equal(t, "incident-INC-7/review@incidentflow", p["UID"])
			require.Equal(t, `Post-incident review: INC-7 Zahlungen schlagen fehl — café ☕ 支付失败`, p["SUMMARY"])
			require.Equal(t, `Blameless\; timeline\, causes`, p["DESCRIPTION"])
			require.Equal(t, "mailto:bjorn@example.com", p[`ATTENDEE;CN="Bjørn Ødegård";ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE`])
		}
		require.Equal(t, [2]string{"0", "1"}, [2]string{props[0]["SEQUENCE"], props[1]["SEQUENCE"]}, "a reschedule is the next version")
		require.Equal(t, [2]string{"20261204T100000Z", "20261205T100000Z"}, [2]string{props[0]["DTSTART"], props[1]["DTSTART"]})
	})

	// Mailpit's refusals are permanent failures that name the server's answer.
	for _, tc := range []struct {
		name   string
		mutate func(*channels.SMTPConfig)
		want   string
	}{
		{"ErrWrongPassword", func(c *channels.SMTPConfig) { c.Password = "wrong" }, "535"},
		{"ErrWithoutStartTLS", func(c *channels.SMTPConfig) { c.StartTLS = "off" }, "530"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := channels.SMTPConfig{Server: mp.smtp, From: "Incidents <incidents@example.com>", Username: mailpitUser, Password: mailpitPassword,
				StartTLS: "required", TLS: mp.tls}
			tc.mutate(&cfg)
			bad, err := channels.NewEmail(cfg, []string{"legal@example.com"})
			require.NoError(t, err)
			err = bad.Send(ctx, note)
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
			require.Equal(t, incidentflow.EPERMANENT, incidentflow.ErrorCode(err), err)
		})
	}
	require.Len(t, mp.received(t, 5), 5, "nothing refused arrived")
}
