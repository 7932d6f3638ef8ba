package channels_test

import (
	"context"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/channels"
	"github.com/incidentflow/incidentflow/channels/smtptest"
)

func smtpServer(t *testing.T, opts ...smtptest.Options) *smtptest.Server {
	t.Helper()
	var o smtptest.Options
	if len(opts) > 0 {
		o = opts[0]
	}
	srv, err := smtptest.Start(o)
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	return srv
}

func emailSender(t *testing.T, srv *smtptest.Server, mutate func(*channels.SMTPConfig), to ...string) *channels.Email {
	t.Helper()
	cfg := channels.SMTPConfig{Server: srv.Addr, From: "Incidents <incidents@example.com>", StartTLS: "required", TLS: srv.ClientTLS}
	if mutate != nil {
		mutate(&cfg)
	}
	e, err := channels.NewEmail(cfg, to)
	require.NoError(t, err)
	return e
}

// parts reads a MIME body into content type → decoded content, descending
// into nested multiparts.
func parts(t *testing.T, contentType string, body io.Reader, out map[string]string) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(contentType)
	require.NoError(t, err)
	if !strings.HasPrefix(mt, "multipart/") {
		raw, err := io.ReadAll(body)
		require.NoError(t, err)
		out[mt] = string(raw)
		return
	}
	r := multipart.NewReader(body, params["boundary"])
	for {
		p, err := r.NextRawPart()
		if err == io.EOF {
			return
		}
		require.NoError(t, err)
		var content io.Reader = p
		switch p.Header.Get("Content-Transfer-Encoding") {
		case "base64":
			content = base64.NewDecoder(base64.StdEncoding, p)
		case "quoted-printable":
			content = quotedprintable.NewReader(p)
		}
		ct := p.Header.Get("Content-Type")
		if p.FileName() != "" {
			raw, err := io.ReadAll(content)
			require.NoError(t, err)
			out["attachment:"+p.FileName()] = string(raw)
			continue
		}
		parts(t, ct, content, out)
	}
}

func TestEmailSendsOverStartTLSWithLogin(t *testing.T) {
	srv := smtpServer(t, smtptest.Options{Username: "bot", Password: "pa55"})
	e := emailSender(t, srv, func(c *channels.SMTPConfig) { c.Username, c.Password = "bot", "pa55" })
	m := message()
	m.Event = "page"
	m.Level = 2
	m.Incident.URL = "http://localhost:8080/v1/incidents/INC-1"
	m.Message = "Checkout <is> down & failing"
	m.Recipient = &channels.Recipient{ID: "alice", Name: "Alice Ng", Email: "alice@example.com"}
	m.Actions = []channels.Action{{Name: "acknowledge", Label: "Acknowledge", URL: "http://localhost:8080/act/abc.def"}}
	require.NoError(t, e.Send(context.Background(), m))

	got := srv.Messages()
	require.Len(t, got, 1)
	require.True(t, got[0].TLS, "sent after STARTTLS")
	require.Equal(t, "bot", got[0].User)
	require.Equal(t, "incidents@example.com", got[0].From)
	require.Equal(t, []string{"alice@example.com"}, got[0].To)

	msg, err := mail.ReadMessage(strings.NewReader(got[0].Data))
	require.NoError(t, err)
	require.Equal(t, `"Incidents" <incidents@example.com>`, msg.Header.Get("From"))
	require.Equal(t, `"Alice Ng" <alice@example.com>`, msg.Header.Get("To"), "a person is addressed by name")
	require.Equal(t, "[PAGE] INC-1 critical: Checkout is down", msg.Header.Get("Subject"))
	require.Regexp(t, `^<[0-9a-f]{32}@example\.com>$`, msg.Header.Get("Message-ID"))
	date, err := msg.Header.Date()
	require.NoError(t, err)
	require.WithinDuration(t, time.Now(), date, time.Minute)
	require.Equal(t, "auto-generated", msg.Header.Get("Auto-Submitted"))

	body := map[string]string{}
	parts(t, msg.Header.Get("Content-Type"), msg.Body, body)
	require.Contains(t, body["text/plain"], "Checkout <is> down & failing")
	require.Contains(t, body["text/plain"], "http://localhost:8080/v1/incidents/INC-1")
	require.Contains(t, body["text/html"], "Checkout &lt;is&gt; down &amp; failing", "HTML is escaped")
	require.Contains(t, body["text/html"], `<a href="http://localhost:8080/v1/incidents/INC-1">`)
	require.Regexp(t, `<a href="http://localhost:8080/act/abc\.def" style="display: inline-block;[^"]*">Acknowledge</a>`, body["text/html"],
		"the acknowledgement link is a button")
	require.NotContains(t, body, "text/calendar")

	// The same delivery sent again carries the same Message-ID.
	require.NoError(t, e.Send(context.Background(), m))
	again, err := mail.ReadMessage(strings.NewReader(srv.Messages()[1].Data))
	require.NoError(t, err)
	require.Equal(t, msg.Header.Get("Message-ID"), again.Header.Get("Message-ID"))
}

func TestEmailInvitationCarriesICalendar(t *testing.T) {
	srv := smtpServer(t)
	e := emailSender(t, srv, nil)
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	m := message()
	m.Event = "review"
	m.Message = "You are invited to the review of INC-1."
	m.Recipient = &channels.Recipient{ID: "bob", Name: "Bob Okafor", Email: "bob@example.com"}
	m.Invitation = &channels.Invitation{UID: "incident-INC-1/review@incidentflow", Sequence: 1, Start: start, End: start.Add(time.Hour),
		Summary: "Post-incident review: INC-1, Checkout is down", Description: "Agenda; timeline, causes",
		Stamp: start.Add(-48 * time.Hour), TimeZone: "Europe/London",
		Attendees: []channels.Recipient{{ID: "bob", Name: "Bob Okafor", Email: "bob@example.com"}, {ID: "alice", Name: "Alice Ng", Email: "alice@example.com"}}}
	require.NoError(t, e.Send(context.Background(), m))

	msg, err := mail.ReadMessage(strings.NewReader(srv.Messages()[0].Data))
	require.NoError(t, err)
	require.Equal(t, "Updated invitation: Post-incident review: INC-1, Checkout is down @ Tue 1 Dec 2026 10:00–11:00 GMT", decodeHeader(t, msg.Header.Get("Subject")))
	body := map[string]string{}
	parts(t, msg.Header.Get("Content-Type"), msg.Body, body)
	ics := body["text/calendar"]
	require.Equal(t, ics, body["attachment:invite.ics"], "the invitation is inline and attached")
	for _, want := range []string{
		"BEGIN:VCALENDAR\r\n", "METHOD:REQUEST\r\n", "UID:incident-INC-1/review@incidentflow\r\n", "SEQUENCE:1\r\n",
		"DTSTART:20261201T100000Z\r\n", "DTEND:20261201T110000Z\r\n", "DTSTAMP:20261129T100000Z\r\n",
		"SUMMARY:Post-incident review: INC-1\\, Checkout is down\r\n", "DESCRIPTION:Agenda\\; timeline\\, causes\r\n",
		"ORGANIZER;CN=\"Incidents\":mailto:incidents@example.com\r\n",
		"ATTENDEE;CN=\"Alice Ng\";ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:alice@example.com\r\n",
		"END:VCALENDAR\r\n",
	} {
		require.Contains(t, strings.ReplaceAll(ics, "\r\n ", ""), want) // unfolded
	}
	for _, l := range strings.Split(ics, "\r\n") {
		require.LessOrEqual(t, len(l), 75, "folded: %q", l)
	}
}

func decodeHeader(t *testing.T, s string) string {
	t.Helper()
	out, err := new(mime.WordDecoder).DecodeHeader(s)
	require.NoError(t, err)
	return out
}

func TestEmailFailures(t *testing.T) {
	ctx := context.Background()
	m := message()
	m.Recipient = &channels.Recipient{ID: "ghost", Name: "Ghost", Email: "ghost@example.com"}

	t.Run("UnknownRecipientIsPermanent", func(t *testing.T) {
		srv := smtpServer(t, smtptest.Options{Reject: map[string]bool{"ghost@example.com": true}})
		err := emailSender(t, srv, nil).Send(ctx, m)
		require.Equal(t, incidentflow.EPERMANENT, incidentflow.ErrorCode(err), err)
		require.Contains(t, err.Error(), "550")
	})
	t.Run("BusyServerIsTransient", func(t *testing.T) {
		srv := smtpServer(t)
		srv.SetBusy(true)
		err := emailSender(t, srv, nil).Send(ctx, m)
		require.Error(t, err)
		require.NotEqual(t, incidentflow.EPERMANENT, incidentflow.ErrorCode(err), err)
		require.Contains(t, err.Error(), "451")
	})
	t.Run("WrongPasswordIsPermanent", func(t *testing.T) {
		srv := smtpServer(t, smtptest.Options{Username: "bot", Password: "right"})
		err := emailSender(t, srv, func(c *channels.SMTPConfig) { c.Username, c.Password = "bot", "wrong" }).Send(ctx, m)
		require.Equal(t, incidentflow.EPERMANENT, incidentflow.ErrorCode(err), err)
	})
	t.Run("NoStartTLSWhenRequiredIsPermanent", func(t *testing.T) {
		srv := smtpServer(t, smtptest.Options{NoStartTLS: true})
		err := emailSender(t, srv, nil).Send(ctx, m)
		require.Equal(t, incidentflow.EPERMANENT, incidentflow.ErrorCode(err), err)
		require.Contains(t, err.Error(), "does not offer STARTTLS")
	})
	t.Run("OpportunisticSendsInTheClear", func(t *testing.T) {
		srv := smtpServer(t, smtptest.Options{NoStartTLS: true})
		require.NoError(t, emailSender(t, srv, func(c *channels.SMTPConfig) { c.StartTLS = "opportunistic" }).Send(ctx, m))
		require.False(t, srv.Messages()[0].TLS)
	})
	t.Run("UnreachableServerIsTransient", func(t *testing.T) {
		srv := smtpServer(t)
		srv.Close()
		err := emailSender(t, srv, nil).Send(ctx, m)
		require.Error(t, err)
		require.NotEqual(t, incidentflow.EPERMANENT, incidentflow.ErrorCode(err), err)
	})
	t.Run("NoAddressIsPermanent", func(t *testing.T) {
		srv := smtpServer(t)
		noAddress := m
		noAddress.Recipient = &channels.Recipient{ID: "x", Name: "X"}
		err := emailSender(t, srv, nil).Send(ctx, noAddress)
		require.EqualError(t, err, "X has no e-mail address in the directory")
	})
	t.Run("ChannelAddresses", func(t *testing.T) {
		srv := smtpServer(t)
		toChannel := m
		toChannel.Recipient = nil
		require.NoError(t, emailSender(t, srv, nil, "legal@example.com", "dpo@example.com").Send(ctx, toChannel))
		require.Equal(t, []string{"legal@example.com", "dpo@example.com"}, srv.Messages()[0].To)
	})
}
