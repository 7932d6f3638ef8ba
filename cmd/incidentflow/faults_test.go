package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/incidentflow/incidentflow/devserver"
	"github.com/incidentflow/incidentflow/store"
	"github.com/incidentflow/incidentflow/store/storetest"
	"github.com/incidentflow/incidentflow/workflows"
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
	env := append(os.Environ(), "DATABASE_URL="+storetest.URL(t, store.Postgres), "TEMPORAL_ADDRESS="+temporalAddr, "INCIDENTFLOW_LINK_SECRET="+testLinkSecret,
		"INCIDENTFLOW_API_ADDR="+apiAddr, "INCIDENTFLOW_PROCESSES="+procs, "INCIDENTFLOW_LOG_FORMAT=json",
		"DRILL_HOOK_URL="+receiver.URL, "DRILL_HOOK_SECRET=s3cret")
	out, err := command(env, "migrate").CombinedOutput()
	require.NoError(t, err, "%s", out)
	out, err = command(env, "token", "create", "--service", "drill", "--role", "responder").Output()
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
	require.Eventually(t, func() bool { return readiness(apiAddr) == http.StatusOK }, 30*time.Second, 100*time.Millisecond)

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
	code, body := d.call(t, "POST", "/v1/incidents/"+ref+"/acknowledge", `{}`)
	require.Equal(t, http.StatusOK, code, body)
	code, body = d.call(t, "POST", "/v1/incidents/"+ref+"/status", `{"status":"closed"}`)
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

// PostgreSQL stopped for 30 seconds under traffic: the API answers 503 with a
// clear error meanwhile, activities retry, and once it is back everything
// recorded during the outage is there, once, without anyone restarting anything.
func TestPostgresOutage(t *testing.T) {
	pg := storetest.Server(t)
	dbURL := storetest.URL(t, store.Postgres)
	temporalAddr := freeAddr(t)
	srv, err := devserver.Start(context.Background(), devserver.Options{FrontendAddr: temporalAddr,
		SearchAttributes: map[string]enumspb.IndexedValueType{"IncidentType": enumspb.INDEXED_VALUE_TYPE_KEYWORD,
			"IncidentSeverity": enumspb.INDEXED_VALUE_TYPE_KEYWORD, "IncidentStatus": enumspb.INDEXED_VALUE_TYPE_KEYWORD,
			"IncidentRef": enumspb.INDEXED_VALUE_TYPE_KEYWORD}})
	require.NoError(t, err)
	defer srv.Stop()
	apiAddr := freeAddr(t)
	env := append(os.Environ(), "DATABASE_URL="+dbURL, "TEMPORAL_ADDRESS="+temporalAddr, "INCIDENTFLOW_API_ADDR="+apiAddr, "INCIDENTFLOW_LOG_FORMAT=json",
		"INCIDENTFLOW_LINK_SECRET="+testLinkSecret)
	out, err := command(env, "migrate", "--skip-temporal").CombinedOutput()
	require.NoError(t, err, "%s", out)
	out, err = command(env, "token", "create", "--service", "ops", "--role", "responder").Output()
	require.NoError(t, err)
	d := &devProcess{api: apiAddr, token: strings.TrimSpace(string(out))}
	apiLogs, workerLogs := &syncBuffer{}, &syncBuffer{}
	for _, p := range []struct {
		name string
		logs *syncBuffer
	}{{"api", apiLogs}, {"worker", workerLogs}} {
		cmd := command(env, p.name)
		cmd.Stdout, cmd.Stderr = p.logs, p.logs
		require.NoError(t, cmd.Start())
		defer func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() }()
	}
	ready := func() int { return readiness(apiAddr) }
	require.Eventually(t, func() bool { return ready() == http.StatusOK }, 30*time.Second, 100*time.Millisecond)

	code, inc := d.call(t, "POST", "/v1/incidents", `{"type":"engineering","title":"Queue backing up","severity":"minor"}`)
	require.Equal(t, http.StatusCreated, code, inc)
	ref := inc["ref"].(string)
	waitActive(t, d, ref, "Wait for a responder to acknowledge")

	require.NoError(t, pg.Halt())
	down := time.Now()
	restarted := false
	defer func() {
		if !restarted {
			_ = pg.Start()
		}
	}()

	// Meanwhile the API says what is wrong, on every route.
	require.Equal(t, http.StatusServiceUnavailable, ready())
	code, body := d.call(t, "GET", "/v1/incidents/"+ref, "")
	require.Equal(t, http.StatusServiceUnavailable, code, body)
	require.Equal(t, "the database is unreachable", body["error"].(map[string]any)["message"])
	code, body = d.call(t, "POST", "/v1/incidents", `{"type":"engineering","title":"Second","severity":"minor"}`)
	require.Equal(t, http.StatusServiceUnavailable, code, body)

	// And the run keeps working: a status change arrives straight through
	// Temporal, its handler delivers a notice, and both must reach the database.
	cl, err := client.Dial(client.Options{HostPort: temporalAddr, Logger: nopLogger{}})
	require.NoError(t, err)
	defer cl.Close()
	_, err = cl.UpdateWorkflow(context.Background(), client.UpdateWorkflowOptions{WorkflowID: "incident-" + ref,
		UpdateName: workflows.UpdateSetStatus, Args: []any{workflows.SetStatusInput{Status: "fixing", By: "bob", Note: "during the outage"}},
		WaitForStage: client.WorkflowUpdateStageAccepted})
	require.NoError(t, err)

	time.Sleep(30*time.Second - time.Since(down))
	require.NoError(t, pg.Start())
	restarted = true

	require.Eventually(t, func() bool { return ready() == http.StatusOK }, 30*time.Second, 200*time.Millisecond, "the API recovers by itself")
	var kinds []string
	require.Eventually(t, func() bool {
		code, tl := d.call(t, "GET", "/v1/incidents/"+ref+"/timeline", "")
		if code != http.StatusOK {
			return false
		}
		kinds = kinds[:0]
		for _, e := range tl["events"].([]any) {
			kinds = append(kinds, e.(map[string]any)["kind"].(string))
		}
		_, got := d.call(t, "GET", "/v1/incidents/"+ref, "")
		return got["status"] == "fixing" && slices.Contains(kinds, "status_changed") &&
			strings.Contains(workerLogs.String(), "["+ref+"] Notify minor → #eng-incidents: "+ref+" is now fixing.")
	}, 2*time.Minute, time.Second, "what happened during the outage reaches the database: %v\n%s", kinds, workerLogs)
	require.Equal(t, 1, strings.Count(workerLogs.String(), "["+ref+"] Notify minor → #eng-incidents: "+ref+" is now fixing."),
		"the status notice went out once")
	code, body = d.call(t, "POST", "/v1/incidents", `{"type":"engineering","title":"After the outage","severity":"minor"}`)
	require.Equal(t, http.StatusCreated, code, body)
}

const drillV = `
process: drill
title: Drill
severities: [critical]
signals: [go]
steps:
  - notify: {to: [channel:console], message: "%[1]s declared {{ .Incident.Ref }}"}
  - name: Wait for go
    wait: {signal: go}
  - notify: {to: [channel:console], message: "%[1]s carried on {{ .Incident.Ref }}"}
  - wait: {for: status == "closed"}
`

// A process file edited while incidents of it are open: they carry on with
// the version they were declared with; new ones take the new version.
func TestProcessChangedWhileIncidentsAreOpen(t *testing.T) {
	procs := t.TempDir()
	write := func(version string) {
		require.NoError(t, os.WriteFile(filepath.Join(procs, "drill.yaml"), []byte(fmt.Sprintf(drillV, version)), 0o644))
	}
	require.NoError(t, os.WriteFile(filepath.Join(procs, "directory.yaml"), []byte("channels: [{id: console, type: console}]\n"), 0o644))
	write("v1")
	t.Setenv("INCIDENTFLOW_PROCESSES", procs)
	data := t.TempDir()
	d := startDev(t, data)
	code, old := d.call(t, "POST", "/v1/incidents", `{"type":"drill","title":"Old","severity":"critical"}`)
	require.Equal(t, http.StatusCreated, code, old)
	waitActive(t, d, "INC-1", "Wait for go")
	d.stop(t)

	write("v2")
	d = startDev(t, data)
	code, fresh := d.call(t, "POST", "/v1/incidents", `{"type":"drill","title":"New","severity":"critical"}`)
	require.Equal(t, http.StatusCreated, code, fresh)
	waitActive(t, d, "INC-2", "Wait for go")
	require.NotEqual(t, old["process_hash"], fresh["process_hash"])
	for _, ref := range []string{"INC-1", "INC-2"} {
		code, body := d.call(t, "POST", "/v1/incidents/"+ref+"/signals/go", `{}`)
		require.Equal(t, http.StatusOK, code, body)
	}
	require.Eventually(t, func() bool {
		out := d.out.String()
		return strings.Contains(out, "[INC-1] Notify critical → #console: v1 carried on INC-1") &&
			strings.Contains(out, "[INC-2] Notify critical → #console: v2 carried on INC-2")
	}, 20*time.Second, 100*time.Millisecond, "each incident runs the version it was declared with:\n%s", d.out)
	_, body := d.call(t, "GET", "/v1/incidents/INC-1", "")
	require.Equal(t, old["process_hash"], body["process_hash"])
}

const everyWait = `
process: waits
title: Every kind of wait
severities: [critical]
roles: [lead, dpo]
signals: [go]
steps:
  - set: {roles: {lead: alice, dpo: alice}}
  - name: Clock
    background: true
    deadline: {title: Report, within: 45s, from: declared, remind_before: [20s], notify: [channel:console]}
  - name: Rounds
    background: true
    repeat:
      every: 10s
      until: status == "resolved"
      steps: [{notify: {to: [channel:console], message: "round of {{ .Incident.Ref }}"}}]
  - name: Page
    background: true
    page: {policy: drill, message: "page {{ .Incident.Ref }}"}
  - parallel:
      - steps:
          - name: Nap
            sleep: {for: 20s}
          - notify: {to: [channel:console], message: "woke {{ .Incident.Ref }}"}
      - name: Approve
        approval: {role: dpo}
      - name: Fix
        task: {owner: role:lead, title: "Fix {{ .Incident.Ref }}", wait: true}
      - name: Until go
        wait: {signal: go, timeout: 1h}
  - name: Review
    review: {within: 5 business days, attendees: [person:alice], remind_before: []}
  - set: {status: closed}
`

const everyWaitDirectory = `
people:
  - {id: alice, name: Alice}
  - {id: bob, name: Bob}
policies:
  - id: drill
    levels:
      - {targets: [person:alice], ack_within: 25s}
      - {targets: [person:bob], ack_within: 25s}
channels: [{id: console, type: console}]
default_channel: console
`

// The whole dev stack killed while an incident waits in every way there is,
// and started again on its data directory: everything carries on, and the
// clocks fire at their due times, not from the restart.
func TestDevKilledWithEveryKindOfWait(t *testing.T) {
	procs := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(procs, "waits.yaml"), []byte(everyWait), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(procs, "directory.yaml"), []byte(everyWaitDirectory), 0o644))
	t.Setenv("INCIDENTFLOW_PROCESSES", procs)
	data := t.TempDir()
	d := startDev(t, data)
	code, inc := d.call(t, "POST", "/v1/incidents", `{"type":"waits","title":"Drill","severity":"critical"}`)
	require.Equal(t, http.StatusCreated, code, inc)
	declared, err := time.Parse(time.RFC3339Nano, inc["declared_at"].(string))
	require.NoError(t, err)
	for _, step := range []string{"Clock", "Rounds", "Nap", "Approve", "Fix", "Until go"} {
		waitActive(t, d, "INC-1", step)
	}
	require.Eventually(t, func() bool { return strings.Contains(d.out.String(), "[INC-1] Page level 1 critical → Alice") },
		10*time.Second, 100*time.Millisecond)

	require.NoError(t, d.cmd.Process.Kill()) // no clean shutdown
	_ = d.cmd.Wait()
	before := d.out.String()
	time.Sleep(3 * time.Second)
	d = startDev(t, data, d.api, d.temporal, d.ui)

	at := map[string]time.Duration{} // first time of each timeline kind, from the declaration
	require.Eventually(t, func() bool {
		_, tl := d.call(t, "GET", "/v1/incidents/INC-1/timeline", "")
		events, _ := tl["events"].([]any)
		for _, e := range events {
			m := e.(map[string]any)
			when, _ := time.Parse(time.RFC3339Nano, m["at"].(string))
			kind := m["kind"].(string)
			if kind == "paged" && strings.Contains(m["message"].(string), "level 2") {
				kind = "paged level 2"
			}
			if _, ok := at[kind]; !ok {
				at[kind] = when.Sub(declared)
			}
		}
		_, ok := at["deadline_missed"]
		return ok
	}, 60*time.Second, 250*time.Millisecond, "the deadline never fired:\n%s", d.out)
	// The stack is back well before these fire (it is down from about 5s to
	// 10s), so they come at their own times, not at the restart.
	require.InDelta(t, 45, at["deadline_missed"].Seconds(), 4, "due 45s after the declaration, restart or not")
	require.InDelta(t, 25, at["paged level 2"].Seconds(), 4, "level 2 after level 1's 25s")
	out := before + d.out.String()
	require.Equal(t, 1, strings.Count(out, "[INC-1] Notify critical → #console: Reminder: Report"), "reminded once, 20s before")
	require.Equal(t, 1, strings.Count(out, "[INC-1] Page level 2 critical → Bob"))
	require.Equal(t, 1, strings.Count(out, "woke INC-1"), "the nap ended once")
	require.GreaterOrEqual(t, strings.Count(out, "round of INC-1"), 5, "rounds every 10s carried on")

	// The waits for people carry on too.
	alice := d.as(t, "alice") // the dpo approves in person
	for _, req := range []struct {
		path, body string
		as         []string
	}{
		{"/v1/incidents/INC-1/approvals", `{}`, alice},
		{"/v1/tasks/INC-1-T1/complete", `{}`, nil},
		{"/v1/incidents/INC-1/signals/go", `{}`, nil},
	} {
		code, body := d.call(t, "POST", req.path, req.body, req.as...)
		require.Equal(t, http.StatusOK, code, "%s: %v", req.path, body)
	}
	waitActive(t, d, "INC-1", "Review")
	code, body := d.call(t, "POST", "/v1/incidents/INC-1/review", `{}`)
	require.Equal(t, http.StatusOK, code, body)
	require.Eventually(t, func() bool {
		_, got := d.call(t, "GET", "/v1/incidents/INC-1", "")
		return got["status"] == "closed"
	}, 20*time.Second, 100*time.Millisecond)
	d.stop(t)
}
