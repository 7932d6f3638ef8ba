package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/tooltest"
)

// A paged person acknowledges from the e-mail itself, with no token and
// without signing in: the page reaches Bob through a real mail server
// (Mailpit), its button is his acknowledgement link, pressing it acts as
// him, and the timeline names him.
func TestPagedPersonAcknowledgesFromTheEmail(t *testing.T) {
	smtpAddr, apiAddr := fmt.Sprintf("127.0.0.1:%d", tooltest.Port(t)), fmt.Sprintf("127.0.0.1:%d", tooltest.Port(t))
	mp := tooltest.Start(t, tooltest.Find(t, "mailpit"), "--database", filepath.Join(t.TempDir(), "mailpit.db"),
		"--smtp", smtpAddr, "--listen", apiAddr, "--smtp-auth-accept-any", "--smtp-auth-allow-insecure",
		"--disable-version-check", "--smtp-disable-rdns", "--block-remote-css-and-fonts")
	mp.WaitHTTP(t, "http://"+apiAddr+"/readyz")

	dir := t.TempDir()
	files := map[string]string{
		"directory.yaml": `people:
  - {id: bob, name: Bob Okafor, email: bob@example.com, page_via: mail}
default_channel: console
channels:
  - {id: console, type: console}
  - {id: mail, type: email}
smtp: {server: "` + smtpAddr + `", from: "Incidents <incidents@example.com>", starttls: "off"}
policies:
  - id: oncall
    levels:
      - {targets: [person:bob], ack_within: 10m}
`,
		"outage.yaml": `process: outage
title: Outage
severities: [minor]
steps:
  - page: {policy: oncall, message: "{{ .Incident.Ref }} {{ .Incident.Title }}: please look"}
  - wait: {for: status == "closed"}
`,
	}
	for name, text := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600))
	}
	d := &devProcess{out: &syncBuffer{}, api: freeAddr(t), temporal: freeAddr(t), ui: freeAddr(t), dataDir: t.TempDir()}
	d.cmd = exec.Command(binary, "dev", "--data", d.dataDir, "--api-addr", d.api, "--temporal-addr", d.temporal, "--ui-addr", d.ui, "--processes", dir)
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	require.NoError(t, d.cmd.Start())
	t.Cleanup(d.kill)
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + d.api + "/healthz")
		if err == nil {
			_ = resp.Body.Close()
		}
		return err == nil
	}, 60*time.Second, 100*time.Millisecond, "incidentflow dev did not answer:\n%s", d.out)

	code, inc := d.call(t, "POST", "/v1/incidents", `{"type":"outage","title":"Checkout is down","severity":"minor"}`)
	require.Equal(t, http.StatusCreated, code, inc)
	ref := inc["ref"].(string)

	// The e-mail, as Mailpit received it, and the button in its HTML.
	var html string
	require.Eventually(t, func() bool {
		var list struct {
			Messages []struct{ ID, Subject string }
		}
		if getJSON("http://"+apiAddr+"/api/v1/messages", &list) != nil || len(list.Messages) == 0 {
			return false
		}
		var msg struct{ HTML string }
		return getJSON("http://"+apiAddr+"/api/v1/message/"+list.Messages[0].ID, &msg) == nil && strings.Contains(msg.HTML, "/act/") &&
			func() bool { html = msg.HTML; return true }()
	}, 30*time.Second, 100*time.Millisecond, "no page reached Mailpit:\n%s", d.out)
	button := regexp.MustCompile(`<a href="(http://[^"]+/act/[^"]+)" style="display: inline-block;[^"]*">Acknowledge</a>`).FindStringSubmatch(html)
	require.NotNil(t, button, "the e-mail's acknowledgement is a button: %s", html)

	// Bob opens it in a browser of his own: no token, no session.
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	page, err := browser.Get(button[1])
	require.NoError(t, err)
	body, _ := io.ReadAll(page.Body)
	_ = page.Body.Close()
	require.Equal(t, http.StatusOK, page.StatusCode, "%s", body)
	require.Contains(t, string(body), "Acknowledge as Bob Okafor", "the link's page has its one button")
	pressed, err := browser.PostForm(button[1], url.Values{})
	require.NoError(t, err)
	body, _ = io.ReadAll(pressed.Body)
	_ = pressed.Body.Close()
	require.Equal(t, http.StatusOK, pressed.StatusCode, "%s", body)
	require.Contains(t, string(body), "You acknowledged "+ref)

	require.Eventually(t, func() bool {
		_, tl := d.call(t, "GET", "/v1/incidents/"+ref+"/timeline", "")
		events, _ := tl["events"].([]any)
		for _, e := range events {
			ev := e.(map[string]any)
			if ev["kind"] == "acknowledged" && ev["actor"] == "bob" {
				return true
			}
		}
		return false
	}, 10*time.Second, 100*time.Millisecond, "the timeline names bob as who acknowledged %s", ref)
}

// getJSON decodes the JSON answer of a GET into out.
func getJSON(u string, out any) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", u, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
