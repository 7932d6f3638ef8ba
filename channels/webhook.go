package channels

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader carries t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">.
const SignatureHeader = "Incidentflow-Signature"

// Webhook POSTs the message as JSON, signed with the channel's secret when it has one.
type Webhook struct {
	url    string
	secret string
	client *http.Client
	now    func() time.Time
}

// NewWebhook returns a webhook sender for url; an empty secret sends unsigned.
func NewWebhook(url, secret string) *Webhook {
	return &Webhook{url: url, secret: secret, client: &http.Client{Timeout: 10 * time.Second}, now: time.Now}
}

// Send delivers m. 2xx is success; 408, 429 and 5xx are transient; any other
// status is permanent, as is a URL that cannot be requested at all.
func (w *Webhook) Send(ctx context.Context, m Message) error {
	body, err := json.Marshal(m)
	if err != nil {
		return permanent("encode message: %v", err)
	}
	headers := map[string]string{"Idempotency-Key": m.IdempotencyKey}
	if w.secret != "" {
		headers[SignatureHeader] = Sign(w.secret, w.now(), body)
	}
	return postJSON(ctx, w.client, "webhook", w.url, body, headers)
}

// postJSON POSTs body and classifies the answer: 2xx is success; 408, 429 and
// 5xx are transient, as is a connection that fails; any other status is
// permanent, as is a URL that cannot be requested at all. Errors name the
// service and its redacted URL, never secrets in headers.
func postJSON(ctx context.Context, client *http.Client, service, url string, body []byte, headers map[string]string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return permanent("%s URL: %v", service, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "incidentflow")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	where := service
	if service == "webhook" {
		where += " " + req.URL.Redacted()
	}
	resp, err := client.Do(req)
	if err != nil {
		var uerr *neturl.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // the URL may carry a secret (Slack's does)
		}
		return fmt.Errorf("%s: %w", where, err)
	}
	defer func() { _ = resp.Body.Close() }()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		return fmt.Errorf("%s answered %d: %s", where, code, strings.TrimSpace(string(snippet)))
	default:
		return permanent("%s answered %d: %s", where, code, strings.TrimSpace(string(snippet)))
	}
}

// Sign returns the signature header value for body sent at t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + mac(secret, ts, body)
}

func mac(secret, ts string, body []byte) string {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(ts))
	h.Write([]byte("."))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// Tolerance is how old a signed request may be before Verify rejects it as a replay.
const Tolerance = 5 * time.Minute

// Verify checks, on the receiving side, that header signs body with secret and
// was made within Tolerance of now.
func Verify(secret, header string, body []byte, now time.Time) error {
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return errors.New("malformed signature header")
	}
	if age := now.Sub(time.Unix(sec, 0)); age > Tolerance || age < -Tolerance {
		return fmt.Errorf("signature timestamp is %s away from now, more than %s", age.Round(time.Second), Tolerance)
	}
	want := mac(secret, ts, body)
	for _, s := range sigs {
		if hmac.Equal([]byte(s), []byte(want)) {
			return nil
		}
	}
	return errors.New("signature does not match")
}
