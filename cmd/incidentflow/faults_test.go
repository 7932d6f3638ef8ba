package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/devserver"
	"github.com/incidentflow/incidentflow/store"
	"github.com/incidentflow/incidentflow/store/storetest"
)

// faultProcess notifies a team of three through a webhook, then pages a
// two-level policy with short acknowledgement windows.
const faultProcess = `
process: drill
title: Fault drill
severities: [critical]
steps:
  - id: tell
    name: Tell the team
    notify: {to: [team:everyone], message: "{{ .Incident.Ref }} drill"}
  - id: page
    name: Page the drill policy
    page: {policy: drill, message: "{{ .Incident.Ref }} page"}
  - wait: {for: status == "closed"}
`

const faultDirectory = `
people:
  - {id: alice, name: Alice}
  - {id: bob, name: Bob}
  - {id: carol, name: Carol}
teams:
  - {id: everyone, members: [alice, bob, carol]}
policies:
  - id: drill
    levels:
      - {targets: [person:alice], ack_within: 20s}
      - {targets: [person:bob], ack_within: 20s}
channels:
  - {id: hook, type: webhook, url_env: DRILL_HOOK_URL, secret_env: DRILL_HOOK_SECRET}
default_channel: hook
`

// hookReceiver accepts webhook deliveries; when kill says so for a request,
// it kills the worker before answering, so that delivery is left unconfirmed.
type hookReceiver struct {
	mu       sync.Mutex
	received []string       // idempotency keys, in arrival order
	accepted map[string]int // idempotency key → times answered 2xx
	at       map[string]time.Time
	kill     func(key string, n int) bool
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var m struct {
		Key string `json:"idempotency_key"`
	}
	_ = json.Unmarshal(body, &m)
	h.mu.Lock()
	h.received = append(h.received, m.Key)
	n := len(h.received)
	kill := h.kill != nil && h.kill(m.Key, n)
	h.mu.Unlock()
	if kill {
		// The worker dies with this request in flight: it never hears back.
		hj, _ := w.(http.Hijacker)
		conn, _, _ := hj.Hijack()
		_ = conn.Close()
		return
	}
	h.mu.Lock()
	h.accepted[m.Key]++
	if _, ok := h.at[m.Key]; !ok {
		h.at[m.Key] = time.Now()
	}
	h.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (h *hookReceiver) snapshot() (received []string, accepted map[string]int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	accepted = map[string]int{}
	for k, v := range h.accepted {
		accepted[k] = v
	}
	return append([]string(nil), h.received...), accepted
}

// A worker killed with SIGKILL while it delivers, and again while an
// escalation waits, is replaced: nothing confirmed is sent twice, the
// unconfirmed delivery goes again under the same idempotency key, and the
// escalation pages level 2 on schedule.
func TestWorkerKilledMidDeliveryAndMidEscalation(t *testing.T) {
	temporalAddr := freeAddr(t)
	srv, err := devserver.Start(context.Background(), devserver.Options{FrontendAddr: temporalAddr})
	require.NoError(t, err)
	defer srv.Stop()
	procs := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(procs, "drill.yaml"), []byte(faultProcess), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(procs, "directory.yaml"), []byte(faultDirectory), 0o644))

	var workerMu sync.Mutex
	var worker *exec.Cmd
	killWorker := func() {
		workerMu.Lock()
		defer workerMu.Unlock()
		_ = worker.Process.Kill() // SIGKILL: no clean shutdown
		_ = worker.Wait()
	}
	hook := &hookReceiver{accepted: map[string]int{}, at: map[string]time.Time{}}
	// The second recipient's delivery kills the worker: the first is sent and
	// recorded, the second was being sent, the third not yet.
	hook.kill = func(_ string, n int) bool {
		if n == 2 {
			go killWorker()
			time.Sleep(200 * time.Millisecond)
			return true
		}
		return false
	}
	receiver := httptest.NewServer(hook)
	defer receiver.Close()

	apiAddr := freeAddr(t)
	env := append(os.Environ(), "DATABASE_URL="+storetest.URL(t, store.Postgres), "TEMPORAL_ADDRESS="+temporalAddr,
		"INCIDENTFLOW_API_ADDR="+apiAddr, "INCIDENTFLOW_PROCESSES="+procs, "INCIDENTFLOW_LOG_FORMAT=json",
		"DRILL_HOOK_URL="+receiver.URL, "DRILL_HOOK_SECRET=s3cret")
	out, err := command(env, "migrate").CombinedOutput()
	require.NoError(t, err, "%s", out)
	out, err = command(env, "token", "create", "--name", "drill", "--scope", "declare,respond").Output()
	require.NoError(t, err)
	d := &devProcess{api: apiAddr, token: strings.TrimSpace(string(out))}

	logs := &syncBuffer{}
	startWorker := func() {
		workerMu.Lock()
		defer workerMu.Unlock()
		worker = command(env, "worker")
		worker.Stdout, worker.Stderr = logs, logs
		require.NoError(t, worker.Start())
	}
	api := command(env, "api")
	api.Stdout, api.Stderr = logs, logs
	require.NoError(t, api.Start())
	defer func() { _ = api.Process.Signal(os.Interrupt); _ = api.Wait() }()
	startWorker()
	defer func() { killWorker() }()
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + apiAddr + "/readyz")
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 100*time.Millisecond)

	code, inc := d.call(t, "POST", "/v1/incidents", `{"type":"drill","title":"Drill","severity":"critical"}`)
	require.Equal(t, http.StatusCreated, code, inc)
	ref := inc["ref"].(string)

	// The worker dies on the second delivery; a new one takes over once
	// Temporal notices the missing heartbeat.
	require.Eventually(t, func() bool { r, _ := hook.snapshot(); return len(r) >= 2 }, 30*time.Second, 50*time.Millisecond)
	time.Sleep(time.Second)
	startWorker()
	tell := func(person string) string { return "incident-" + ref + "/tell#1/person:" + person }
	level := func(n int, person string) string {
		return "incident-" + ref + "/page#1/round-1/level-" + string(rune('0'+n)) + "/person:" + person
	}
	require.Eventually(t, func() bool { _, a := hook.snapshot(); return a[level(1, "alice")] == 1 }, 90*time.Second, 100*time.Millisecond,
		"level 1 was never paged: %s", logs)
	received, accepted := hook.snapshot()
	require.Equal(t, 1, accepted[tell("alice")], "confirmed before the crash: not sent again")
	require.Equal(t, 1, accepted[tell("bob")], "in flight at the crash: sent again, accepted once")
	require.Equal(t, 1, accepted[tell("carol")])
	require.Equal(t, []string{tell("alice"), tell("bob"), tell("bob"), tell("carol"), level(1, "alice")}, received)

	// Killed again while level 1 waits for its acknowledgement, and restarted
	// at once: level 2 still comes 20s after level 1, not again from the start.
	killWorker()
	startWorker()
	require.Eventually(t, func() bool { _, a := hook.snapshot(); return a[level(2, "bob")] == 1 }, 60*time.Second, 100*time.Millisecond)
	hook.mu.Lock()
	gap := hook.at[level(2, "bob")].Sub(hook.at[level(1, "alice")])
	hook.mu.Unlock()
	require.InDelta(t, 20, gap.Seconds(), 8, "level 2 follows level 1 by its ack window")
	code, body := d.call(t, "POST", "/v1/incidents/"+ref+"/acknowledge", `{"by":"bob"}`)
	require.Equal(t, http.StatusOK, code, body)
	code, body = d.call(t, "POST", "/v1/incidents/"+ref+"/status", `{"status":"closed","by":"bob"}`)
	require.Equal(t, http.StatusOK, code, body)

	received, accepted = hook.snapshot()
	for key, n := range accepted {
		require.Equal(t, 1, n, "%s accepted %d times", key, n)
	}
	require.Len(t, received, 6, "three notices (one twice, unconfirmed), two pages: %v", received)

	_, tl := d.call(t, "GET", "/v1/incidents/"+ref+"/timeline", "")
	var delivered int
	for _, e := range tl["events"].([]any) {
		if e.(map[string]any)["kind"] == "delivered" {
			delivered++
		}
	}
	require.Equal(t, 5, delivered, "each delivery once on the timeline")
}
