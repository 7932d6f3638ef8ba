package web_test

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBrowser runs the web app's browser suite (e2e/suite.js): incidentflow
// dev on free loopback ports with the suite's processes, a second api
// replica on its database and Temporal, zitadel's example OpenID Provider
// beside them, and Debian's chromium driven by playwright-core.
// Under CI=true a missing node, chromium or provider fails the test; on a
// developer's machine it is skipped (the provider's part alone, when only it
// is missing). Screenshots go to e2e/screenshots, or $INCIDENTFLOW_SCREENSHOTS.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("the browser suite takes minutes")
	}
	ci := os.Getenv("CI") == "true"
	missing := func(what string) {
		t.Helper()
		if ci {
			t.Fatalf("%s is required under CI (.ci/run installs it)", what)
		}
		t.Skipf("%s is missing: skipping the browser suite", what)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node (apt-get install nodejs npm)")
	}
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		missing("chromium (apt-get install chromium)")
	}
	suite, err := filepath.Abs("e2e")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(suite, "node_modules", "playwright-core")); err != nil {
		npm, err := exec.LookPath("npm")
		if err != nil {
			missing("npm (apt-get install npm)")
		}
		if out, err := run(suite, npm, "ci", "--no-audit", "--no-fund"); err != nil {
			t.Fatalf("npm ci in %s: %v\n%s", suite, err, out)
		}
	}

	dir := t.TempDir()
	binary := filepath.Join(dir, "incidentflow")
	if out, err := run("..", "go", "build", "-o", binary, "./cmd/incidentflow"); err != nil {
		t.Fatalf("build incidentflow: %v\n%s", err, out)
	}
	apiAddr := freeAddr(t)
	env := []string{}

	// The test OpenID Provider knows our redirect URL and its users; its
	// issuer is http://localhost:PORT/, as it names itself.
	provider := oidcServer()
	if provider == "" && ci {
		t.Fatal("the test OpenID Provider is required under CI: go install github.com/zitadel/oidc/v3/example/server@v3.52.0 (.ci/run does)")
	}
	issuer := ""
	if provider == "" {
		t.Log("zitadel's example OpenID Provider is not installed: the suite runs without its OpenID Connect part")
	} else {
		port := strings.TrimPrefix(freeAddr(t), "127.0.0.1:")
		issuer = "http://localhost:" + port + "/"
		// Its two example users, and one whose address it has not verified.
		op := start(t, filepath.Join(dir, "oidc.log"), provider, nil, "PORT="+port, "REDIRECT_URI=http://"+apiAddr+"/signin/callback",
			"USERS_FILE="+filepath.Join(suite, "oidc-users.json"))
		waitFor(t, issuer+".well-known/openid-configuration", op)
		env = append(env, "INCIDENTFLOW_OIDC_ISSUER="+issuer, "INCIDENTFLOW_OIDC_CLIENT_ID=web", "INCIDENTFLOW_OIDC_CLIENT_SECRET=secret")
	}

	data, temporalAddr := filepath.Join(dir, "data"), freeAddr(t)
	devLog := filepath.Join(dir, "dev.log")
	dev := start(t, devLog, binary, []string{"dev", "--data", data, "--processes", filepath.Join(suite, "processes"),
		"--api-addr", apiAddr, "--temporal-addr", temporalAddr, "--ui-addr", freeAddr(t)}, env...)
	waitFor(t, "http://"+apiAddr+"/readyz", dev)
	token, err := os.ReadFile(filepath.Join(data, "token"))
	if err != nil {
		t.Fatal(err)
	}
	// A second replica of the api on the same database and Temporal: a
	// page watched through it sees what is done through dev's.
	replica := freeAddr(t)
	api := start(t, filepath.Join(dir, "replica.log"), binary, []string{"api", "--processes", filepath.Join(suite, "processes")},
		"DATABASE_URL=sqlite:"+filepath.Join(data, "incidentflow.db"), "TEMPORAL_ADDRESS="+temporalAddr,
		"INCIDENTFLOW_LINK_SECRET_FILE="+filepath.Join(data, "link-secret"), "INCIDENTFLOW_API_ADDR="+replica,
		"INCIDENTFLOW_PUBLIC_URL=http://"+replica)
	waitFor(t, "http://"+replica+"/readyz", api)

	shots := os.Getenv("INCIDENTFLOW_SCREENSHOTS")
	if shots == "" {
		shots = filepath.Join(suite, "screenshots")
	}
	cmd := exec.Command(node, filepath.Join(suite, "suite.js"))
	cmd.Dir = suite
	cmd.Env = append(os.Environ(), "BASE=http://"+apiAddr, "REPLICA=http://"+replica, "DEV_LOG="+devLog, "TOKEN="+strings.TrimSpace(string(token)),
		"SHOTS="+shots, "OIDC="+issuer, "CHROMIUM="+chromium)
	out, err := cmd.CombinedOutput()
	t.Logf("browser suite:\n%s", out)
	if err != nil {
		logs, _ := os.ReadFile(devLog)
		t.Fatalf("the browser suite failed: %v\nincidentflow dev's output:\n%s", err, tail(string(logs), 60))
	}

	// What people did and were refused is in the audit log, by how they
	// were known.
	audit, err := run("..", binary, "audit", "export", "--data", data)
	if err != nil {
		t.Fatalf("audit export: %v\n%s", err, audit)
	}
	want := []string{
		`"principal":"alice","via":"link","action":"sign in","outcome":"done"`,
		`"principal":"anonymous","via":"link","action":"sign in link","outcome":"refused"`,
		`"via":"link","action":"sign in","outcome":"refused","status":409`,
		`"principal":"bob","via":"session","action":"web acknowledge","target":"INC-1","outcome":"done"`,
		`"principal":"bob","via":"session","action":"web approve","target":"INC-1","outcome":"refused"`,
		`"principal":"erin","via":"session","action":"web roles","target":"INC-1","outcome":"denied"`,
		`"principal":"carol","via":"session","action":"web notes","target":"INC-1","outcome":"denied"`,
		`"principal":"alice","via":"session","action":"web declare","target":"outage","outcome":"invalid"`,
		`"principal":"dan","via":"session","action":"web view","target":"INC-`, // a restricted incident's read, its ref random
		`"principal":"alice","via":"session","action":"sign out","outcome":"done"`,
	}
	if issuer != "" {
		want = append(want, `"principal":"tess","via":"oidc","action":"sign in","outcome":"done"`,
			`"principal":"anonymous","via":"oidc","action":"sign in","outcome":"denied","status":403,"detail":"Nobody in incidentflow's directory has the e-mail address test-user2@zitadel.ch`,
			`"principal":"anonymous","via":"oidc","action":"sign in","outcome":"denied","status":403,"detail":"Your e-mail address erin@example.com is not verified`)
	}
	for _, w := range want {
		if !strings.Contains(string(audit), w) {
			t.Errorf("the audit log lacks %s", w)
		}
	}
}

// oidcServer is the path of zitadel's example OpenID Provider, as go
// install puts it (in GOBIN, else GOPATH/bin), or "".
func oidcServer() string {
	if p := os.Getenv("INCIDENTFLOW_TEST_OIDC_SERVER"); p != "" {
		return p
	}
	out, err := exec.Command("go", "env", "GOBIN", "GOPATH").Output()
	if err != nil {
		return ""
	}
	dirs := strings.Split(string(out), "\n")
	bin := strings.TrimSpace(dirs[0])
	if bin == "" && len(dirs) > 1 {
		bin = filepath.Join(strings.TrimSpace(dirs[1]), "bin")
	}
	p := filepath.Join(bin, "server")
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

func run(dir, name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	return cmd.CombinedOutput()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String()
}

// proc is a program the test started.
type proc struct {
	name string
	done chan struct{} // closed when it exits
}

// start runs a program with its output in logPath, stopping it when the
// test ends.
func start(t *testing.T, logPath, name string, args []string, env ...string) *proc {
	t.Helper()
	log, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p := &proc{name: name, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
		_ = log.Close()
	})
	return p
}

// waitFor waits until url answers 200, or fails when p exits or a minute passes.
func waitFor(t *testing.T, url string, p *proc) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited before %s answered", p.name, url)
		case <-time.After(200 * time.Millisecond):
		}
	}
	t.Fatalf("%s did not answer within a minute", url)
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return fmt.Sprintf("…\n%s", strings.Join(lines, "\n"))
}
