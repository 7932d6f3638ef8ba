package main

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/devserver"
	"github.com/incidentflow/incidentflow/store"
	"github.com/incidentflow/incidentflow/store/storetest"
)

// The production topology: migrate, then an api and two workers as separate
// processes, against PostgreSQL and a Temporal server they did not start.
func TestProductionTopology(t *testing.T) {
	// An external Temporal whose namespace has none of our search attributes yet.
	temporalAddr := freeAddr(t)
	srv, err := devserver.Start(context.Background(), devserver.Options{FrontendAddr: temporalAddr})
	require.NoError(t, err)
	defer srv.Stop()
	dbURL := storetest.URL(t, store.Postgres)
	apiAddr := freeAddr(t)
	env := append(os.Environ(), "DATABASE_URL="+dbURL, "TEMPORAL_ADDRESS="+temporalAddr, "TEMPORAL_NAMESPACE=default",
		"INCIDENTFLOW_API_ADDR="+apiAddr, "INCIDENTFLOW_LOG_FORMAT=json", "INCIDENTFLOW_LINK_SECRET="+testLinkSecret)

	t.Run("ApiRefusesAnUnmigratedSchema", func(t *testing.T) {
		out, err := command(env, "api").CombinedOutput()
		require.Error(t, err)
		require.Regexp(t, "the database schema is at version 0 but this binary needs [0-9]+: run `incidentflow migrate` first", string(out))
	})
	t.Run("ApiAndWorkerNeedTheLinkSecret", func(t *testing.T) {
		for _, cmd := range []string{"api", "worker"} {
			out, err := command(append(append([]string{}, env...), "INCIDENTFLOW_LINK_SECRET=short"), cmd).CombinedOutput()
			require.Error(t, err)
			require.Contains(t, string(out), "--link-secret is required, at least 32 bytes")
		}
	})

	out, err := command(env, "migrate").CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "registered IncidentType, IncidentSeverity, IncidentStatus, IncidentRef on default")
	out, err = command(env, "migrate").CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "applied 0 migration(s)")
	require.Contains(t, string(out), "search attributes already registered")

	t.Run("WorkerRefusesUnreachableTemporal", func(t *testing.T) {
		bad := append(append([]string{}, env...), "TEMPORAL_ADDRESS="+freeAddr(t))
		out, err := command(bad, "worker").CombinedOutput()
		require.Error(t, err)
		require.Contains(t, string(out), "is unreachable")
	})

	out, err = command(env, "token", "create", "--person", "erin", "--role", "responder", "--name", "oncall-bot").Output()
	require.NoError(t, err)
	token := strings.TrimSpace(string(out))
	require.True(t, strings.HasPrefix(token, "ifl_"), token)
	list, err := command(env, "token", "list").CombinedOutput()
	require.NoError(t, err, "%s", list)
	require.Contains(t, string(list), "oncall-bot")
	require.NotContains(t, string(list), token, "token list never shows secrets")

	logs := &syncBuffer{}
	for _, name := range []string{"worker", "worker", "api"} {
		cmd := command(env, name)
		cmd.Stdout, cmd.Stderr = logs, logs
		require.NoError(t, cmd.Start())
		defer func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() }()
	}
	d := &devProcess{api: apiAddr, token: token}
	require.Eventually(t, func() bool { return readiness(apiAddr) == http.StatusOK }, 30*time.Second, 100*time.Millisecond)

	code, inc := d.call(t, "POST", "/v1/incidents", `{"type":"operational","title":"Refund batch ran twice","severity":"major"}`)
	require.Equal(t, http.StatusCreated, code, inc)
	ref := inc["ref"].(string)
	waitActive(t, d, ref, "Wait for an owner")
	code, body := d.call(t, "POST", "/v1/incidents/"+ref+"/roles", `{"role":"owner","person":"erin"}`)
	require.Equal(t, http.StatusOK, code, body)
	waitActive(t, d, ref, "Correct the mistake")
	code, body = d.call(t, "POST", "/v1/tasks/"+ref+"-T1/complete", `{"note":"refunds reversed"}`)
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "erin", body["task"].(map[string]any)["done_by"], "done by the token's person")
	code, body = d.call(t, "POST", "/v1/incidents/"+ref+"/status", `{"status":"resolved"}`)
	require.Equal(t, http.StatusOK, code, body)
	require.Eventually(t, func() bool {
		_, got := d.call(t, "GET", "/v1/incidents/"+ref, "")
		return got["status"] == "closed"
	}, 20*time.Second, 100*time.Millisecond)
	require.True(t, strings.Contains(logs.String(), `"msg":"api listening"`), logs.String())

	out, err = command(env, "token", "revoke", "oncall-bot").CombinedOutput()
	require.NoError(t, err, "%s", out)
	code, _ = d.call(t, "GET", "/v1/incidents", "")
	require.Equal(t, http.StatusUnauthorized, code, "a revoked token is refused at once")
}

// testLinkSecret signs the action links of the processes a test starts.
const testLinkSecret = "0123456789abcdef0123456789abcdef-test-only"

func command(env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(binary, args...)
	cmd.Env = env
	return cmd
}

// readiness is the status /readyz answers at apiAddr, 0 when nothing does.
func readiness(apiAddr string) int {
	resp, err := http.Get("http://" + apiAddr + "/readyz")
	if err != nil {
		return 0
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}
