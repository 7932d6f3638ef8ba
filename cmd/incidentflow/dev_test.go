package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/incidentflow/incidentflow/devserver"
	"github.com/incidentflow/incidentflow/store/storetest"
)

// binary is incidentflow built once for these tests, run as a user would.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "incidentflow-bin-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "incidentflow")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build incidentflow: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	storetest.Stop()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// devProcess is a running `incidentflow dev`.
type devProcess struct {
	cmd               *exec.Cmd
	out               *syncBuffer
	api, temporal, ui string
	dataDir           string
	token             string // sent as the bearer token; dev's own from <data>/token when empty
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func freeAddr(t *testing.T) string {
	t.Helper()
	p, err := devserver.FreePort("127.0.0.1")
	require.NoError(t, err)
	return fmt.Sprintf("127.0.0.1:%d", p)
}

// startDev runs incidentflow dev on dataDir, on the given addresses or new free
// ones, and waits until its API answers.
func startDev(t *testing.T, dataDir string, addrs ...string) *devProcess {
	t.Helper()
	if len(addrs) == 0 {
		addrs = []string{freeAddr(t), freeAddr(t), freeAddr(t)}
	}
	return startDevWith(t, dataDir, addrs, nil)
}

// startDevWith is startDev on the given addresses with more flags.
func startDevWith(t *testing.T, dataDir string, addrs, flags []string) *devProcess {
	t.Helper()
	d := &devProcess{out: &syncBuffer{}, api: addrs[0], temporal: addrs[1], ui: addrs[2], dataDir: dataDir}
	d.cmd = exec.Command(binary, append([]string{"dev", "--data", dataDir, "--api-addr", d.api, "--temporal-addr", d.temporal, "--ui-addr", d.ui}, flags...)...)
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	require.NoError(t, d.cmd.Start())
	t.Cleanup(func() { d.kill() })
	deadline := time.Now().Add(60 * time.Second)
	for {
		if resp, err := http.Get("http://" + d.api + "/healthz"); err == nil {
			_ = resp.Body.Close()
			break
		}
		if time.Now().After(deadline) || d.cmd.ProcessState != nil {
			t.Fatalf("incidentflow dev did not answer within 60s:\n%s", d.out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return d
}

func (d *devProcess) kill() {
	if d.cmd.Process != nil && d.cmd.ProcessState == nil {
		_ = d.cmd.Process.Kill()
		_ = d.cmd.Wait()
	}
}

// stop interrupts dev as Ctrl-C does and waits for a clean exit.
func (d *devProcess) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, d.cmd.Process.Signal(syscall.SIGINT))
	done := make(chan error, 1)
	go func() { done <- d.cmd.Wait() }()
	select {
	case err := <-done:
		require.NoError(t, err, d.out.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("incidentflow dev did not stop within 30s of Ctrl-C")
	}
	require.Contains(t, d.out.String(), "incidentflow dev stopped")
}

// as returns the header of a request a person of the directory makes: a
// responder's token of theirs, made with incidentflow token create.
func (d *devProcess) as(t *testing.T, person string) []string {
	t.Helper()
	out, err := exec.Command(binary, "token", "create", "--person", person, "--role", "responder", "--data", d.dataDir).Output()
	require.NoError(t, err)
	return []string{"Authorization", "Bearer " + strings.TrimSpace(string(out))}
}

func (d *devProcess) call(t *testing.T, method, path, body string, headers ...string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+d.api+path, strings.NewReader(body))
	require.NoError(t, err)
	token := d.token
	if token == "" {
		b, err := os.ReadFile(filepath.Join(d.dataDir, "token"))
		require.NoError(t, err, "dev writes its admin token to <data>/token")
		token = strings.TrimSpace(string(b))
	}
	req.Header.Set("Authorization", "Bearer "+token)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var v map[string]any
	if len(raw) > 0 {
		require.NoError(t, json.Unmarshal(raw, &v), "%s", raw)
	}
	return resp.StatusCode, v
}

func TestDevEndToEnd(t *testing.T) {
	d := startDev(t, t.TempDir())
	require.Contains(t, d.out.String(), "API          http://"+d.api)
	require.Contains(t, d.out.String(), "Temporal UI  http://"+d.ui)
	require.Contains(t, d.out.String(), "API token    created, admin, written to "+filepath.Join(d.dataDir, "token"))
	info, err := os.Stat(filepath.Join(d.dataDir, "token"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "the token file is for its owner only")
	resp0, err := http.Post("http://"+d.api+"/v1/incidents", "application/json", strings.NewReader(`{}`))
	require.NoError(t, err)
	_ = resp0.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp0.StatusCode, "no token, no entry")

	code, inc := d.call(t, "POST", "/v1/incidents", `{"type":"engineering","title":"Checkout is down","severity":"critical"}`, "Idempotency-Key", "e2e-1")
	require.Equal(t, http.StatusCreated, code, inc)
	ref := inc["ref"].(string)
	require.Equal(t, "INC-1", ref)
	require.Equal(t, "incident-INC-1", inc["workflow_id"])
	require.Equal(t, "http://"+d.ui+"/namespaces/default/workflows/incident-INC-1", inc["ui_url"])
	code, again := d.call(t, "POST", "/v1/incidents", `{"type":"engineering","title":"Checkout is down","severity":"critical"}`, "Idempotency-Key", "e2e-1")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, ref, again["ref"])

	// The run is listed by search attribute, as `temporal workflow list --query` lists it.
	cl, err := client.Dial(client.Options{HostPort: d.temporal, Logger: nopLogger{}})
	require.NoError(t, err)
	defer cl.Close()
	require.Eventually(t, func() bool {
		resp, err := cl.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Query: `IncidentType="engineering"`})
		return err == nil && len(resp.Executions) == 1 && resp.Executions[0].Execution.WorkflowId == "incident-INC-1"
	}, 20*time.Second, 200*time.Millisecond)

	// The Web UI serves its application.
	resp, err := http.Get("http://" + d.ui + "/")
	require.NoError(t, err)
	page, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, strings.ToLower(string(page)), "<html")

	code, body := d.call(t, "POST", "/v1/incidents/INC-1/acknowledge", `{}`)
	require.Equal(t, http.StatusOK, code, body)
	code, body = d.call(t, "POST", "/v1/incidents/INC-1/status", `{"status":"no-such-status"}`)
	require.Equal(t, http.StatusUnprocessableEntity, code, body)
	code, body = d.call(t, "POST", "/v1/incidents/INC-1/status", `{"status":"resolved"}`)
	require.Equal(t, http.StatusOK, code, body)

	code, tl := d.call(t, "GET", "/v1/incidents/INC-1/timeline", "")
	require.Equal(t, http.StatusOK, code)
	var kinds []string
	for _, e := range tl["events"].([]any) {
		kinds = append(kinds, e.(map[string]any)["kind"].(string))
	}
	require.Equal(t, "declared", kinds[0])
	require.Contains(t, kinds, "acknowledged")
	require.Contains(t, kinds, "delivered")
	require.Contains(t, kinds, "status_changed")
	waitActive(t, d, "INC-1", "Hold the post-incident review")
	code, body = d.call(t, "POST", "/v1/incidents/INC-1/review", `{"write_up":"https://wiki.example.com/INC-1"}`)
	require.Equal(t, http.StatusOK, code, body)
	require.Eventually(t, func() bool {
		_, got := d.call(t, "GET", "/v1/incidents/INC-1", "")
		return got["status"] == "closed"
	}, 20*time.Second, 100*time.Millisecond, "the review held ends the engineering process by closing it")

	// One /metrics shows the API, the deliveries, the incidents' times to
	// acknowledge and resolve, and the Temporal SDK's worker metrics.
	resp, err = http.Get("http://" + d.api + "/metrics")
	require.NoError(t, err)
	metrics, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	for _, want := range []string{
		`incidentflow_time_to_acknowledge_seconds_count{severity="critical",type="engineering"} 1`,
		`incidentflow_time_to_resolve_seconds_count{severity="critical",type="engineering"} 1`,
		`incidentflow_deliveries_total{channel="eng-incidents",outcome="sent"}`,
		`incidentflow_incidents_declared_total{severity="critical",type="engineering"} 1`,
		`temporal_workflow_task_execution_latency_seconds_bucket`,
		`temporal_request_total{`,
		`temporal_worker_task_slots_available{`,
	} {
		require.Contains(t, string(metrics), want)
	}
	require.Contains(t, d.out.String(), "[INC-1] Notify critical → #eng-incidents: [critical] INC-1 Checkout is down is declared.")
	d.stop(t)
}

// Open incidents carry on where they were after a clean stop and after a crash.
func TestDevRestartContinuesOpenIncidents(t *testing.T) {
	data := t.TempDir()
	d := startDev(t, data)
	code, inc := d.call(t, "POST", "/v1/incidents", `{"type":"security","title":"Suspicious admin logins","severity":"major"}`)
	require.Equal(t, http.StatusCreated, code, inc)
	waitActive(t, d, "INC-1", "Wait for containment")

	d.stop(t)
	d = startDev(t, data, d.api, d.temporal, d.ui)
	code, body := d.call(t, "POST", "/v1/incidents/INC-1/signals/contained", `{}`)
	require.Equal(t, http.StatusOK, code, body)
	waitActive(t, d, "INC-1", "Wait until resolved")

	// A crash: no chance to shut down cleanly.
	require.NoError(t, d.cmd.Process.Kill())
	_ = d.cmd.Wait()
	d = startDev(t, data, d.api, d.temporal, d.ui)
	code, body = d.call(t, "POST", "/v1/incidents/INC-1/status", `{"status":"resolved"}`)
	require.Equal(t, http.StatusOK, code, body)
	waitActive(t, d, "INC-1", "Hold the security review")
	code, body = d.call(t, "POST", "/v1/incidents/INC-1/review", `{}`)
	require.Equal(t, http.StatusOK, code, body)
	require.Eventually(t, func() bool {
		_, got := d.call(t, "GET", "/v1/incidents/INC-1", "")
		return got["status"] == "closed"
	}, 20*time.Second, 100*time.Millisecond)
	code, second := d.call(t, "POST", "/v1/incidents", `{"type":"engineering","title":"Export is slow","severity":"minor"}`)
	require.Equal(t, http.StatusCreated, code)
	require.Equal(t, "INC-2", second["ref"], "numbering carries on after a restart")
	code, secret := d.call(t, "POST", "/v1/incidents", `{"type":"privacy","title":"Export leaked","severity":"high","fields":{"aware_at":"2026-11-26T08:00:00Z"}}`)
	require.Equal(t, http.StatusCreated, code)
	require.Regexp(t, `^INC-[A-Z][A-Z0-9]{5}$`, secret["ref"], "a restricted incident's ref is random: it counts nothing")
	d.stop(t)
}

// waitActive waits until the incident's live state shows the step running.
func waitActive(t *testing.T, d *devProcess, ref, step string) {
	t.Helper()
	require.Eventually(t, func() bool {
		_, got := d.call(t, "GET", "/v1/incidents/"+ref, "")
		st, _ := got["state"].(map[string]any)
		active, _ := st["active"].([]any)
		for _, a := range active {
			if a.(map[string]any)["step"] == step {
				return true
			}
		}
		return false
	}, 20*time.Second, 100*time.Millisecond, "step %q never became active", step)
}

type nopLogger struct{}

func (nopLogger) Debug(string, ...any) {}
func (nopLogger) Info(string, ...any)  {}
func (nopLogger) Warn(string, ...any)  {}
func (nopLogger) Error(string, ...any) {}

func TestValidateCommand(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "directory.yaml"), []byte("channels:\n  - {id: legal-email, type: console}\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "broken.yaml"), []byte(
		"process: broken\ntitle: Broken\nseverities: [high]\nsteps:\n  - notify: {to: [channel:legal-emial], message: hi}\n  - wait: {for: fields.nope}\n"), 0o644))
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"validate", dir}, func(string) string { return "" }, &out, &errOut)
	require.Equal(t, exitCode(1), err)
	require.Equal(t, dir+`/broken.yaml:5:19: unknown channel "legal-emial"; did you mean "legal-email"?
`+dir+`/broken.yaml:6:17: condition uses field "nope", which the process does not declare
2 error(s), 0 warning(s)
`, out.String())

	out.Reset()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "directory.yaml"), []byte(
		"channels:\n  - {id: legal-email, type: console}\n  - {id: hook, type: webhook, url_env: HOOK_URL, secret_env: HOOK_SECRET}\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "broken.yaml"), []byte(
		"process: fixed\ntitle: Fixed\nseverities: [high]\nsteps:\n  - notify: {to: [channel:hook], message: hi}\n"), 0o644))
	env := map[string]string{"HOOK_URL": "http://127.0.0.1:9/hook"}
	require.NoError(t, run(context.Background(), []string{"validate", dir}, func(k string) string { return env[k] }, &out, &errOut))
	require.Equal(t, "directory.yaml: warning: channel hook: environment variable HOOK_SECRET (its signing secret) is not set\nok: 1 process(es) valid (fixed)\n", out.String())

	out.Reset()
	require.NoError(t, run(context.Background(), []string{"validate"}, func(string) string { return "" }, &out, &errOut))
	require.Equal(t, "ok: 4 process(es) valid (engineering, operational, privacy, security)\n", out.String())
}

// goodAndBroken is a folder with a directory, a valid process file
// (good.yaml) and one with a misspelt channel (broken.yaml).
func goodAndBroken(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "directory.yaml"), []byte("channels:\n  - {id: legal-email, type: console}\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "good.yaml"), []byte(
		"process: good\ntitle: Good\nseverities: [high]\nsteps:\n  - notify: {to: [channel:legal-email], message: hi}\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "broken.yaml"), []byte(
		"process: broken\ntitle: Broken\nseverities: [high]\nsteps:\n  - notify: {to: [channel:legal-emial], message: hi}\n"), 0o644))
	return dir
}

// One process file is checked with the directory.yaml beside it, whatever
// is wrong with the other files there.
func TestValidateOneFile(t *testing.T) {
	dir := goodAndBroken(t)
	var out, errOut bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"validate", filepath.Join(dir, "good.yaml")}, func(string) string { return "" }, &out, &errOut))
	require.Equal(t, "ok: 1 process(es) valid (good)\n", out.String())

	out.Reset()
	err := run(context.Background(), []string{"validate", filepath.Join(dir, "broken.yaml")}, func(string) string { return "" }, &out, &errOut)
	require.Equal(t, exitCode(1), err)
	require.Equal(t, dir+`/broken.yaml:5:19: unknown channel "legal-emial"; did you mean "legal-email"?
1 error(s), 0 warning(s)
`, out.String())

	out.Reset()
	require.NoError(t, run(context.Background(), []string{"validate", "../../processes/privacy.yaml"}, func(string) string { return "" }, &out, &errOut))
	require.Equal(t, "ok: 1 process(es) valid (privacy)\n", out.String())

	out.Reset()
	err = run(context.Background(), []string{"validate", filepath.Join(dir, "nope.yaml")}, func(string) string { return "" }, &out, &errOut)
	require.ErrorContains(t, err, "nope.yaml: there is no such file or folder")
}

// simulate runs a valid file though another beside it is broken, and says
// so; a broken file, or the directory it needs, stops it.
func TestSimulateOneFileBesideABrokenOne(t *testing.T) {
	dir := goodAndBroken(t)
	simulate := func(file string) (string, string, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), []string{"simulate", filepath.Join(dir, file), "--at", "2026-12-23T16:00", "--for", "1h"}, func(string) string { return "" }, &out, &errOut)
		return out.String(), errOut.String(), err
	}
	out, errs, err := simulate("good.yaml")
	require.NoError(t, err)
	require.Equal(t, "warning: "+dir+`/broken.yaml:5:19: unknown channel "legal-emial"; did you mean "legal-email"?`+"\n", errs)
	require.Contains(t, out, "notify             → #legal-email: hi")

	out, errs, err = simulate("broken.yaml")
	require.Equal(t, exitCode(1), err)
	require.Empty(t, out)
	require.Equal(t, dir+`/broken.yaml:5:19: unknown channel "legal-emial"; did you mean "legal-email"?`+"\n", errs)

	require.NoError(t, os.WriteFile(filepath.Join(dir, "directory.yaml"), []byte("channels:\n  - {id: legal-email, type: consol}\n"), 0o644))
	_, errs, err = simulate("good.yaml")
	require.Equal(t, exitCode(1), err)
	require.Contains(t, errs, dir+"/directory.yaml:2:")
}

func TestConfigProblemsAreReportedTogether(t *testing.T) {
	var out, errOut bytes.Buffer
	env := map[string]string{"INCIDENTFLOW_LOG_LEVEL": "loud", "TEMPORAL_TLS_CERT": "c.pem"}
	err := run(context.Background(), []string{"api", "--api-addr", "nonsense"}, func(k string) string { return env[k] }, &out, &errOut)
	require.EqualError(t, err, `invalid configuration:
  --log-level "loud" must be debug, info, warn or error
  --link-secret is required, at least 32 bytes, the same for every api and worker: set INCIDENTFLOW_LINK_SECRET (or _FILE) to, for example, the output of openssl rand -hex 32
  --database-url is required: set DATABASE_URL to a PostgreSQL URL
  --temporal-tls-cert and --temporal-tls-key go together
  --api-addr "nonsense" must be host:port`)
}

// The benchmark's harness works: its quick run measures everything, writes
// its JSON, and sees the differences its calibration tells it of (else it
// exits non-zero). Figures are not asserted here; BENCHMARKS.md records them.
func TestBenchQuick(t *testing.T) {
	out := filepath.Join(t.TempDir(), "bench.json")
	cmd := exec.Command(binary, "bench", "--quick", "--json", out)
	logs, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", logs)
	require.Contains(t, string(logs), "hand-written workflow")
	raw, err := os.ReadFile(out)
	require.NoError(t, err)
	var r struct {
		Declare   struct{ Count, Errors int }
		FirstPage struct{ Count int } `json:"first_page"`
		Burst     struct{ Count int } `json:"burst_first_page"`
		Alerts    struct{ Fingerprints, Incidents int }
		Overhead  struct {
			ThroughputRatio float64 `json:"throughput_ratio"`
			EventsRatio     float64 `json:"events_ratio"`
			Calibration     struct {
				Expected, Measured float64
				PaddingEvents      int `json:"padding_events"`
				MeasuredPadding    int `json:"measured_padding"`
			}
			Replay struct {
				Expected, Handicapped, Same, Throughput float64
			}
		}
		Scale struct{ Open int }
	}
	require.NoError(t, json.Unmarshal(raw, &r))
	require.Equal(t, 100, r.Declare.Count)
	require.Zero(t, r.Declare.Errors)
	require.Equal(t, 5, r.FirstPage.Count)
	require.Equal(t, 20, r.Burst.Count)
	require.Equal(t, r.Alerts.Fingerprints, r.Alerts.Incidents, "one incident per alert")
	require.Positive(t, r.Overhead.ThroughputRatio)
	require.Positive(t, r.Overhead.EventsRatio)
	// The bench exits non-zero when it cannot see a difference it is told
	// of; this one saw the doubled work and the padding.
	require.InDelta(t, r.Overhead.Calibration.Expected, r.Overhead.Calibration.Measured, 0.5)
	require.InDelta(t, r.Overhead.Calibration.PaddingEvents, r.Overhead.Calibration.MeasuredPadding, 1)
	// The comparison of the workflow code ran and saw its known handicap
	// (a quick run is a smoke check: TestReplayComparisonSeesAKnownSlowdown
	// holds it to five points), and it judges nothing.
	require.InDelta(t, r.Overhead.Replay.Expected, r.Overhead.Replay.Handicapped, 0.15)
	require.InDelta(t, 1, r.Overhead.Replay.Same, 0.15)
	require.Positive(t, r.Overhead.Replay.Throughput)
	require.Contains(t, string(logs), "is not judged", "a quick run does not judge the 10% target")
	require.Equal(t, 100, r.Scale.Open)
}

// A paged person acts from the page: the page carries a link of their own,
// which shows a page with one button (opening it does nothing), acknowledges
// as them when pressed, and works once; a forged or cut link is refused.
func TestActionLinks(t *testing.T) {
	d := startDev(t, t.TempDir())
	defer d.kill()
	code, inc := d.call(t, "POST", "/v1/incidents", `{"type":"engineering","title":"Checkout is down","severity":"critical"}`)
	require.Equal(t, http.StatusCreated, code, inc)
	ref := inc["ref"].(string)
	link := regexp.MustCompile(`\[` + ref + `\] Page level 1 critical → [^:]+ \((\w+)\) via #console: .*Acknowledge: (http://\S+/act/[A-Za-z0-9_.-]+)`)
	var person, url string
	require.Eventually(t, func() bool {
		m := link.FindStringSubmatch(d.out.String())
		if m != nil {
			person, url = m[1], m[2]
		}
		return m != nil
	}, 20*time.Second, 100*time.Millisecond, "the page carries an acknowledgement link: %s", d.out.String())
	require.True(t, strings.HasPrefix(url, "http://"+d.api+"/act/"), url)

	get := func(u string) (int, string) {
		resp, err := http.Get(u)
		require.NoError(t, err)
		defer func() { _ = resp.Body.Close() }()
		b, _ := io.ReadAll(resp.Body)
		require.Contains(t, resp.Header.Get("Content-Security-Policy"), "default-src 'self'")
		return resp.StatusCode, string(b)
	}
	post := func(u string) (int, string) {
		resp, err := http.Post(u, "application/x-www-form-urlencoded", nil)
		require.NoError(t, err)
		defer func() { _ = resp.Body.Close() }()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, page := get(url)
	require.Equal(t, http.StatusOK, code, page)
	require.Contains(t, page, "Checkout is down")
	require.Regexp(t, `<form method="post" action="/act/[^"]+">\s*<button type="submit" class="primary">Acknowledge as `, page)
	code, st := d.call(t, "GET", "/v1/incidents/"+ref, "")
	require.Equal(t, http.StatusOK, code)
	require.Nil(t, st["acknowledged_by"], "opening the link does nothing")

	code, page = post(url[:len(url)-2])
	require.Equal(t, http.StatusBadRequest, code, "a link cut short")
	require.Contains(t, page, "This is not a link incidentflow made")

	code, page = post(url)
	require.Equal(t, http.StatusOK, code, page)
	require.Contains(t, page, "You acknowledged "+ref)
	_, st = d.call(t, "GET", "/v1/incidents/"+ref, "")
	require.Equal(t, person, st["acknowledged_by"], "acknowledged as the person the page was for")

	code, page = post(url)
	require.Equal(t, http.StatusConflict, code, page)
	require.Contains(t, page, "it acts once")
	_, tl := d.call(t, "GET", "/v1/incidents/"+ref+"/timeline", "")
	acks := 0
	for _, e := range tl["events"].([]any) {
		if e.(map[string]any)["kind"] == "acknowledged" {
			acks++
		}
	}
	require.Equal(t, 1, acks)

	// Every step of it is in the audit log, whose chain holds until an
	// entry is changed behind its back.
	d.stop(t)
	out, err := exec.Command(binary, "audit", "verify", "--data", d.dataDir).CombinedOutput()
	require.NoError(t, err, "%s", out)
	head := regexp.MustCompile(`audit log: \d+ entries, the chain is intact; head (\d+:[0-9a-f]{64})`).FindStringSubmatch(string(out))
	require.NotNil(t, head, "%s", out)
	out, err = exec.Command(binary, "audit", "export", "--data", d.dataDir).Output()
	require.NoError(t, err)
	require.Contains(t, string(out), `"principal":"`+person+`","via":"link","action":"link acknowledge","target":"`+ref+`","outcome":"done"`)
	require.Contains(t, string(out), `"action":"link acknowledge","target":"`+ref+`","outcome":"refused"`, "the second press is refused, and audited")
	db, err := sql.Open("sqlite", filepath.Join(d.dataDir, "incidentflow.db"))
	require.NoError(t, err)
	defer func() { _ = db.Close() }()
	// Cutting the log's tail leaves a chain that holds: the head kept
	// elsewhere shows it.
	_, err = db.Exec(`DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)`)
	require.NoError(t, err)
	out, err = exec.Command(binary, "audit", "verify", "--data", d.dataDir).CombinedOutput()
	require.NoError(t, err, "%s", out)
	out, err = exec.Command(binary, "audit", "verify", "--data", d.dataDir, "--head", head[1]).CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), "the log was cut or rewritten after it")
	_, err = db.Exec(`UPDATE audit_log SET principal = 'someone else' WHERE seq = 2`)
	require.NoError(t, err)
	out, err = exec.Command(binary, "audit", "verify", "--data", d.dataDir).CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), "audit log: the chain is broken: entry 2 was changed")
}
