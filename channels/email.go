package channels

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strings"
	"time"
)

// SMTPConfig is how an e-mail channel reaches its mail server.
type SMTPConfig struct {
	Server   string // host:port
	From     string
	Username string
	Password string
	// StartTLS is required, opportunistic or off (see dsl.SMTP).
	StartTLS string
	// TLS overrides the TLS settings of STARTTLS (tests trust their own CA).
	TLS *tls.Config
}

// Email sends through SMTP: plain text and HTML, and, for a review, an
// iCalendar invitation both inline (text/calendar; method=REQUEST, which
// calendar clients act on) and as an invite.ics attachment.
type Email struct {
	cfg  SMTPConfig
	from *mail.Address
	// to is where a message to the channel itself goes.
	to  []string
	now func() time.Time
}

// NewEmail returns an e-mail sender; to are the channel's own addresses.
func NewEmail(cfg SMTPConfig, to []string) (*Email, error) {
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("smtp.from %q: %w", cfg.From, err)
	}
	if _, _, err := net.SplitHostPort(cfg.Server); err != nil {
		return nil, fmt.Errorf("smtp.server %q: %w", cfg.Server, err)
	}
	return &Email{cfg: cfg, from: from, to: to, now: time.Now}, nil
}

// Send delivers m to the recipient's address, or to the channel's addresses
// when the message is for the channel. A recipient without an address, and
// any 5xx answer of the server, are permanent; 4xx answers and network
// failures are transient.
func (e *Email) Send(ctx context.Context, m Message) error {
	to := e.to
	if m.Recipient != nil {
		if m.Recipient.Email == "" {
			return permanent("%s has no e-mail address in the directory", m.Recipient.Name)
		}
		to = []string{m.Recipient.Email}
	}
	if len(to) == 0 {
		return permanent("e-mail channel %s has no addresses of its own (to:)", m.Channel)
	}
	msg, err := e.compose(m, to)
	if err != nil {
		return permanent("compose e-mail: %v", err)
	}
	return e.send(ctx, to, msg)
}

// messageID is stable for a delivery, so a message sent twice (a crash
// between sending and recording it) is recognisably the same message.
func (e *Email) messageID(key string) string {
	sum := sha256.Sum256([]byte(key))
	domain := e.from.Address[strings.LastIndex(e.from.Address, "@")+1:]
	return "<" + hex.EncodeToString(sum[:16]) + "@" + domain + ">"
}

func subject(m Message) string {
	inc := m.Incident
	switch m.Event {
	case "page":
		return fmt.Sprintf("[PAGE] %s %s: %s", inc.Ref, inc.Severity, inc.Title)
	case "review":
		if m.Invitation.Cancelled {
			return "Cancelled: " + m.Invitation.Summary + " @ " + When(m.Invitation)
		}
		if m.Invitation.Sequence > 0 {
			return "Updated invitation: " + m.Invitation.Summary + " @ " + When(m.Invitation)
		}
		return "Invitation: " + m.Invitation.Summary + " @ " + When(m.Invitation)
	}
	return fmt.Sprintf("[%s] %s · %s", inc.Ref, inc.Severity, inc.Title)
}

// htmlBody carries its style on a <div>: some webmail replaces <body> by a
// <div> of its own and drops what was on it (Mailpit's HTML check).
var htmlBody = template.Must(template.New("email").Funcs(template.FuncMap{"lines": htmlLines, "when": When}).Parse(`<!DOCTYPE html>
<html><body>
<div style="font-family: sans-serif">
<p>{{ lines .Message }}</p>
{{ with .Invitation }}<p><strong>{{ .Summary }}</strong><br>{{ when . }}</p>{{ end }}
<table style="border-collapse: collapse">
<tr><td style="padding-right: 1em"><strong>Incident</strong></td><td>{{ .Incident.Ref }}: {{ .Incident.Title }}</td></tr>
<tr><td style="padding-right: 1em"><strong>Type</strong></td><td>{{ .Incident.Type }}</td></tr>
<tr><td style="padding-right: 1em"><strong>Severity</strong></td><td>{{ .Incident.Severity }}</td></tr>
<tr><td style="padding-right: 1em"><strong>Status</strong></td><td>{{ .Incident.Status }}</td></tr>
</table>
{{ with .Actions }}<p>{{ range . }}<a href="{{ .URL }}" style="display: inline-block; margin: 0 .5em .5em 0; padding: .6em 1.2em; background: #0b57d0; color: #ffffff; text-decoration: none; border-radius: .3em; font-weight: bold">{{ .Label }}</a> {{ end }}</p>{{ end }}
{{ with .Incident.URL }}<p><a href="{{ . }}">Open the incident</a></p>{{ end }}
</div>
</body></html>
`))

// htmlLines escapes text for HTML and breaks its lines with <br>, not with
// CSS white-space, which Outlook for Windows ignores: it would run a
// message's lines into one.
func htmlLines(text string) template.HTML {
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	for i, l := range lines {
		lines[i] = template.HTMLEscapeString(l)
	}
	return template.HTML(strings.Join(lines, "<br>\n")) // safe: every line is escaped
}

func textBody(m Message) string {
	var b strings.Builder
	b.WriteString(m.Message)
	b.WriteString("\n\n")
	if inv := m.Invitation; inv != nil {
		fmt.Fprintf(&b, "%s\n%s\n\n", inv.Summary, When(inv))
	}
	inc := m.Incident
	fmt.Fprintf(&b, "Incident: %s: %s\nType:     %s\nSeverity: %s\nStatus:   %s\n", inc.Ref, inc.Title, inc.Type, inc.Severity, inc.Status)
	if inc.URL != "" {
		fmt.Fprintf(&b, "\n%s\n", inc.URL)
	}
	return b.String()
}

// compose writes the whole message: headers, then multipart/mixed holding a
// multipart/alternative body and, for invitations, the .ics attachment.
func (e *Email) compose(m Message, to []string) ([]byte, error) {
	var html bytes.Buffer
	if err := htmlBody.Execute(&html, m); err != nil {
		return nil, err
	}
	var ics []byte
	if m.Event == "review" && m.Invitation != nil {
		ics = ICS(*m.Invitation, *e.from)
	}

	var body bytes.Buffer
	mixed := multipart.NewWriter(&body)
	var alt bytes.Buffer
	altw := multipart.NewWriter(&alt)
	part := func(w *multipart.Writer, contentType, encoding string, content []byte, extra ...string) error {
		h := textproto.MIMEHeader{"Content-Type": {contentType}, "Content-Transfer-Encoding": {encoding}}
		for i := 0; i+1 < len(extra); i += 2 {
			h.Set(extra[i], extra[i+1])
		}
		pw, err := w.CreatePart(h)
		if err != nil {
			return err
		}
		return encode(pw, encoding, content)
	}
	if err := part(altw, "text/plain; charset=utf-8", "quoted-printable", []byte(textBody(m))); err != nil {
		return nil, err
	}
	if err := part(altw, "text/html; charset=utf-8", "quoted-printable", html.Bytes()); err != nil {
		return nil, err
	}
	if ics != nil {
		if err := part(altw, "text/calendar; charset=utf-8; method="+m.Invitation.Method(), "base64", ics); err != nil {
			return nil, err
		}
	}
	if err := altw.Close(); err != nil {
		return nil, err
	}
	h := textproto.MIMEHeader{"Content-Type": {"multipart/alternative; boundary=" + altw.Boundary()}}
	pw, err := mixed.CreatePart(h)
	if err != nil {
		return nil, err
	}
	if _, err := pw.Write(alt.Bytes()); err != nil {
		return nil, err
	}
	if ics != nil {
		if err := part(mixed, "application/ics; name=invite.ics", "base64", ics,
			"Content-Disposition", `attachment; filename="invite.ics"`); err != nil {
			return nil, err
		}
	}
	if err := mixed.Close(); err != nil {
		return nil, err
	}

	var out bytes.Buffer
	header := func(k, v string) { fmt.Fprintf(&out, "%s: %s\r\n", k, v) }
	header("From", foldWords(e.from.String()))
	if r := m.Recipient; r != nil { // a person: addressed by name, as mail clients show it
		to = []string{(&mail.Address{Name: r.Name, Address: r.Email}).String()}
	}
	header("To", foldWords(strings.Join(to, ", ")))
	header("Subject", foldWords(mime.QEncoding.Encode("utf-8", subject(m))))
	header("Date", e.now().Format(time.RFC1123Z))
	header("Message-ID", e.messageID(m.IdempotencyKey))
	header("MIME-Version", "1.0")
	header("Auto-Submitted", "auto-generated") // RFC 3834: no out-of-office replies
	header("X-Incidentflow-Ref", m.Incident.Ref)
	header("X-Incidentflow-Event", m.Event)
	header("Content-Type", "multipart/mixed; boundary="+mixed.Boundary())
	out.WriteString("\r\n")
	out.Write(body.Bytes())
	return out.Bytes(), nil
}

// foldWords puts each RFC 2047 encoded word of a header value on a line of
// its own: a long non-ASCII subject is many words, and on one line it would
// break RFC 5322's limit of 998 characters, which mail servers enforce by
// cutting or refusing the message. Readers join the words again.
func foldWords(v string) string {
	return strings.ReplaceAll(v, "?= =?", "?=\r\n =?")
}

func encode(w interface{ Write([]byte) (int, error) }, encoding string, content []byte) error {
	if encoding == "quoted-printable" {
		qp := quotedprintable.NewWriter(w)
		if _, err := qp.Write(content); err != nil {
			return err
		}
		return qp.Close()
	}
	enc := base64.StdEncoding.EncodeToString(content)
	for len(enc) > 76 {
		if _, err := w.Write([]byte(enc[:76] + "\r\n")); err != nil {
			return err
		}
		enc = enc[76:]
	}
	_, err := w.Write([]byte(enc + "\r\n"))
	return err
}

// send speaks SMTP: STARTTLS as configured, AUTH PLAIN when there is a
// username, then one transaction. It gives up when ctx ends.
func (e *Email) send(ctx context.Context, to []string, msg []byte) error {
	host, _, _ := net.SplitHostPort(e.cfg.Server)
	dialer := net.Dialer{Timeout: 10 * time.Second}
	conn, err := dialer.DialContext(ctx, "tcp", e.cfg.Server)
	if err != nil {
		return fmt.Errorf("smtp %s: %w", e.cfg.Server, err)
	}
	deadline := time.Now().Add(15 * time.Second) // below the activity's heartbeat timeout
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = conn.SetDeadline(deadline)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		_ = conn.Close()
		return smtpError(e.cfg.Server, err)
	}
	defer func() { _ = c.Close() }()
	if e.cfg.StartTLS != "off" {
		if ok, _ := c.Extension("STARTTLS"); ok {
			cfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
			if e.cfg.TLS != nil {
				cfg = e.cfg.TLS.Clone()
			}
			if err := c.StartTLS(cfg); err != nil {
				return smtpError(e.cfg.Server, fmt.Errorf("STARTTLS: %w", err))
			}
		} else if e.cfg.StartTLS != "opportunistic" {
			return permanent("smtp %s does not offer STARTTLS, which smtp.starttls requires", e.cfg.Server)
		}
	}
	if e.cfg.Username != "" {
		if _, encrypted := c.TLSConnectionState(); !encrypted && !isLoopback(host) {
			return permanent("smtp %s: refusing to send the password for %s over an unencrypted connection", e.cfg.Server, e.cfg.Username)
		}
		if err := c.Auth(smtp.PlainAuth("", e.cfg.Username, e.cfg.Password, host)); err != nil {
			return smtpError(e.cfg.Server, fmt.Errorf("login as %s: %w", e.cfg.Username, err))
		}
	}
	if err := c.Mail(e.from.Address); err != nil {
		return smtpError(e.cfg.Server, fmt.Errorf("MAIL FROM: %w", err))
	}
	for _, addr := range to {
		if err := c.Rcpt(addr); err != nil {
			return smtpError(e.cfg.Server, fmt.Errorf("RCPT TO %s: %w", addr, err))
		}
	}
	w, err := c.Data()
	if err != nil {
		return smtpError(e.cfg.Server, fmt.Errorf("DATA: %w", err))
	}
	if _, err := w.Write(msg); err != nil {
		return smtpError(e.cfg.Server, err)
	}
	if err := w.Close(); err != nil {
		return smtpError(e.cfg.Server, fmt.Errorf("message refused: %w", err))
	}
	_ = c.Quit() // the message is accepted; a failed goodbye changes nothing
	return nil
}

// smtpError makes a 5xx reply permanent; anything else may pass.
func smtpError(server string, err error) error {
	var tp *textproto.Error
	if errors.As(err, &tp) && tp.Code >= 500 {
		return permanent("smtp %s: %v", server, err)
	}
	return fmt.Errorf("smtp %s: %w", server, err)
}

func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}
