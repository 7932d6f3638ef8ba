// Package tooltest runs the real third-party programs integration tests check
// incidentflow against (Alertmanager, amtool, Mailpit): it finds each at the
// version .ci/go-tools pins, starts it on the loopback interface and kills it
// when the test ends. Without a program it skips the test, or fails it under
// CI=true. For tests only; it imports nothing of incidentflow.
package tooltest

import (
	"bufio"
	"context"
	"debug/buildinfo"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pinsFile is where the pinned programs are listed, from the module's root.
const pinsFile = ".ci/go-tools"

// Find returns the path of the program name (the last element of its
// package path in .ci/go-tools) built at its pinned version, looking on PATH
// and where `go install` puts programs. Without it the test is skipped, or
// failed under CI=true, saying how to install it.
func Find(tb testing.TB, name string) string {
	tb.Helper()
	pkg, version, err := pin(name)
	if err != nil {
		tb.Fatal(err)
	}
	var seen []string
	for _, candidate := range candidates(name) {
		info, err := buildinfo.ReadFile(candidate)
		if err != nil {
			continue
		}
		if info.Path == pkg && info.Main.Version == version {
			return candidate
		}
		seen = append(seen, fmt.Sprintf("%s is %s@%s", candidate, info.Path, info.Main.Version))
	}
	msg := fmt.Sprintf("%s %s is needed: go install %s@%s (.ci/run installs it)", name, version, pkg, version)
	if len(seen) > 0 {
		msg += "; found only " + strings.Join(seen, ", ")
	}
	if os.Getenv("CI") == "true" {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
	return ""
}

// pin reads the package path and version .ci/go-tools pins for name.
func pin(name string) (pkg, version string, err error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", "", errors.New("tooltest: no go.mod above the test's directory")
		}
		dir = parent
	}
	f, err := os.Open(filepath.Join(dir, pinsFile))
	if err != nil {
		return "", "", fmt.Errorf("tooltest: %w", err)
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		pkg, version, ok := strings.Cut(line, "@")
		if ok && path.Base(pkg) == name {
			return pkg, version, nil
		}
	}
	return "", "", fmt.Errorf("tooltest: %s pins no program %s", pinsFile, name)
}

// candidates are the files that may be the program: on PATH, then in the
// directories `go install` writes to.
func candidates(name string) []string {
	var out []string
	if p, err := exec.LookPath(name); err == nil {
		out = append(out, p)
	}
	var dirs []string
	if gobin := os.Getenv("GOBIN"); gobin != "" {
		dirs = append(dirs, gobin)
	}
	if goTool, err := exec.LookPath("go"); err == nil {
		if env, err := exec.Command(goTool, "env", "GOBIN", "GOPATH").Output(); err == nil {
			lines := strings.Split(strings.TrimSpace(string(env)), "\n")
			if len(lines) == 2 {
				dirs = append(dirs, lines[0])
				for _, p := range filepath.SplitList(lines[1]) {
					dirs = append(dirs, filepath.Join(p, "bin"))
				}
			}
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, "go", "bin"))
	}
	for _, d := range dirs {
		if d != "" {
			out = append(out, filepath.Join(d, name))
		}
	}
	return out
}

// Port returns a TCP port on 127.0.0.1 that was free a moment ago.
func Port(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("find a free port: %v", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

// Process is a program started for a test.
type Process struct {
	name    string
	logPath string
	done    chan struct{}
	err     error
}

// Start runs the program at prog with args in a directory of its own (also
// its HOME, so no configuration of the machine's user reaches it), its
// output going to a log that a failed test prints. It is killed when the
// test ends, and with the test binary if that dies first.
func Start(tb testing.TB, prog string, args ...string) *Process {
	tb.Helper()
	dir := tb.TempDir()
	p := &Process{name: filepath.Base(prog), logPath: filepath.Join(dir, "output.log"), done: make(chan struct{})}
	logFile, err := os.Create(p.logPath)
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(prog, args...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, logFile, logFile
	cmd.Env = append(os.Environ(), "HOME="+dir)
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		tb.Fatalf("start %s: %v", p.name, err)
	}
	go func() {
		p.err = cmd.Wait()
		_ = logFile.Close()
		close(p.done)
	}()
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
		if tb.Failed() {
			tb.Logf("%s %s:\n%s", p.name, strings.Join(args, " "), p.Log())
		}
	})
	return p
}

// Log is what the program has written so far, at most its last 60 lines.
func (p *Process) Log() string {
	raw, _ := os.ReadFile(p.logPath)
	lines := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
	if len(lines) > 60 {
		lines = lines[len(lines)-60:]
	}
	return strings.Join(lines, "\n")
}

// WaitHTTP waits until url answers 200, failing the test when the program
// exits first or a minute passes.
func (p *Process) WaitHTTP(tb testing.TB, url string) {
	tb.Helper()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(time.Minute)
	for {
		select {
		case <-p.done:
			tb.Fatalf("%s exited (%v) before %s answered:\n%s", p.name, p.err, url, p.Log())
		default:
		}
		if resp, err := client.Get(url); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s did not answer %s within a minute:\n%s", p.name, url, p.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Run runs the program at prog with args to completion, within 30 seconds,
// and returns its output; a failure fails the test with that output.
func Run(tb testing.TB, prog string, args ...string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Dir = tb.TempDir()
	cmd.Env = append(os.Environ(), "HOME="+cmd.Dir)
	dieWithParent(cmd)
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("%s %s: %v\n%s", filepath.Base(prog), strings.Join(args, " "), err, out)
	}
	return string(out)
}
