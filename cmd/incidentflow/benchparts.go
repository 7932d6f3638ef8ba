package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/incidentflow/incidentflow/api"
	"github.com/incidentflow/incidentflow/bench"
	"github.com/incidentflow/incidentflow/devserver"
	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/links"
	"github.com/incidentflow/incidentflow/store"
	"github.com/incidentflow/incidentflow/web"
	"github.com/incidentflow/incidentflow/worker"
)

// benchPartEnv makes `incidentflow bench` run one part of the benchmark's
// stack (api or worker) for a parent bench, instead of measuring; the
// parent sets it, with benchPartAddrEnv for an api.
const (
	benchPartEnv     = "INCIDENTFLOW_BENCH_PART"
	benchPartAddrEnv = "INCIDENTFLOW_BENCH_PART_ADDR"
)

// benchParts says which parts of the benchmark's stack run as processes of
// their own, as in production, and what else to measure.
type benchParts struct {
	apis, workers int
	watch         string // NAME=PID,…
	temporalDBs   string // PostgreSQL URLs, comma-separated
}

func (f *flags) benchParts(p *benchParts) {
	f.fs.IntVar(&p.apis, "apis", 0, "run this many API processes, behind a round-robin proxy in the bench process (0: the API runs inside it)")
	f.fs.IntVar(&p.workers, "workers", 0, "run this many worker processes (0: the worker runs inside the bench process)")
	f.str(&p.watch, "watch", "INCIDENTFLOW_BENCH_WATCH", "", "more processes of the stack to measure with --scale, NAME=PID,… (Temporal nodes, PostgreSQL)")
	f.secret(&p.temporalDBs, "temporal-database-url", "INCIDENTFLOW_BENCH_TEMPORAL_DATABASE_URL", "the Temporal cluster's PostgreSQL databases, comma-separated, to measure their size with --scale")
}

func (p benchParts) check(f *flags) {
	if p.apis < 0 || p.workers < 0 {
		f.problem("--apis and --workers count processes: 0 or more")
	}
	if _, err := p.watched(); err != nil {
		f.problem("--watch: %v", err)
	}
	for _, u := range p.databases() {
		if !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
			f.problem("--temporal-database-url must be postgres:// URLs: %s is not", redactURL(u))
		}
	}
}

type watchedProcess struct {
	name string
	pid  int
}

func (p benchParts) watched() ([]watchedProcess, error) {
	var out []watchedProcess
	for _, item := range strings.Split(p.watch, ",") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		name, pidText, ok := strings.Cut(item, "=")
		pid, err := strconv.Atoi(pidText)
		if !ok || name == "" || err != nil || pid <= 0 {
			return nil, fmt.Errorf("%q is not NAME=PID", item)
		}
		out = append(out, watchedProcess{name, pid})
	}
	return out, nil
}

func (p benchParts) databases() []string {
	var out []string
	for _, u := range strings.Split(p.temporalDBs, ",") {
		if u = strings.TrimSpace(u); u != "" {
			out = append(out, u)
		}
	}
	return out
}

// temporalDBSize adds up the sizes of the Temporal cluster's databases.
func (p benchParts) temporalDBSize(ctx context.Context) (int64, error) {
	var total int64
	for _, u := range p.databases() {
		st, err := store.Open(ctx, u)
		if err != nil {
			return 0, err
		}
		n, err := st.Size(ctx)
		_ = st.Close()
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// runningParts are the part processes a bench started.
type runningParts struct {
	procs []*partProcess
	proxy *http.Server
}

type partProcess struct {
	name string
	cmd  *exec.Cmd
	done chan error
}

// start runs the worker and api processes the flags ask for, against the
// same Temporal and database as the driver, with deliveries going to the
// driver's receiver. apiURL is where to reach the API ("" when it runs in
// this process).
func (p benchParts) start(ctx context.Context, e environment, temporalAddr, databaseURL string, getenv func(string) string) (r *runningParts, apiURL string, err error) {
	self, err := os.Executable()
	if err != nil {
		return nil, "", err
	}
	r = &runningParts{}
	defer func() {
		if err != nil {
			r.stop()
		}
	}()
	launch := func(part string, i int, addr string) error {
		cmd := exec.CommandContext(ctx, self, "bench", "--temporal-addr", temporalAddr, "--database-url", databaseURL)
		cmd.Env = append(os.Environ(), benchPartEnv+"="+part, benchPartAddrEnv+"="+addr, workerCacheEnv+"="+strconv.Itoa(worker.CacheSize()),
			"BENCH_HOOK_URL="+getenv("BENCH_HOOK_URL"), "BENCH_HOOK_SECRET="+getenv("BENCH_HOOK_SECRET"), linkSecretEnv+"="+getenv(linkSecretEnv))
		cmd.Stdout, cmd.Stderr = e.stderr, e.stderr
		cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("start %s %d: %w", part, i, err)
		}
		pp := &partProcess{name: fmt.Sprintf("%s-%d", part, i), cmd: cmd, done: make(chan error, 1)}
		go func() { pp.done <- cmd.Wait() }()
		r.procs = append(r.procs, pp)
		return nil
	}
	for i := range p.workers {
		if err := launch("worker", i+1, ""); err != nil {
			return r, "", err
		}
	}
	var targets []*url.URL
	for i := range p.apis {
		port, err := devserver.FreePort("127.0.0.1")
		if err != nil {
			return r, "", err
		}
		addr := "127.0.0.1:" + strconv.Itoa(port)
		if err := launch("api", i+1, addr); err != nil {
			return r, "", err
		}
		targets = append(targets, &url.URL{Scheme: "http", Host: addr})
	}
	for _, t := range targets {
		if err := waitReady(ctx, t.String()+"/readyz"); err != nil {
			return r, "", err
		}
	}
	if len(targets) == 0 {
		return r, "", nil
	}
	// The proxy stands where a Service or an ingress would: one address,
	// requests spread over the replicas in turn.
	var next atomic.Uint64
	proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(targets[next.Add(1)%uint64(len(targets))])
	}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return r, "", err
	}
	r.proxy = &http.Server{Handler: proxy, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.proxy.Serve(l) }()
	return r, "http://" + l.Addr().String(), nil
}

// waitReady waits up to a minute for a readiness URL to answer 200.
func waitReady(ctx context.Context, u string) error {
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get(u)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not become ready within a minute", u)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// measure is the memory of every part process and watched process.
func (r *runningParts) measure(p benchParts) func() ([]bench.Process, error) {
	return func() ([]bench.Process, error) {
		watched, _ := p.watched()
		var out []bench.Process
		for _, pp := range r.procs {
			watched = append(watched, watchedProcess{pp.name, pp.cmd.Process.Pid})
		}
		for _, w := range watched {
			m, err := bench.MeasureProcess(w.name, w.pid)
			if err != nil {
				return nil, err
			}
			out = append(out, m)
		}
		return out, nil
	}
}

// cpu is what bench.Env.PartsCPU asks: the CPU time of every part and
// watched process, and their names.
func (r *runningParts) cpu(p benchParts) (func() (time.Duration, error), []string) {
	watched, _ := p.watched()
	for _, pp := range r.procs {
		watched = append(watched, watchedProcess{pp.name, pp.cmd.Process.Pid})
	}
	var names []string
	for _, w := range watched {
		names = append(names, w.name)
	}
	return func() (time.Duration, error) {
		var total time.Duration
		for _, w := range watched {
			t, err := bench.ProcessCPU(w.pid)
			if err != nil {
				return 0, fmt.Errorf("%s (pid %d): %w", w.name, w.pid, err)
			}
			total += t
		}
		return total, nil
	}, names
}

// stop ends the part processes gracefully (SIGTERM, then SIGKILL after ten
// seconds) and the proxy.
func (r *runningParts) stop() {
	if r.proxy != nil {
		_ = r.proxy.Close()
	}
	for _, pp := range r.procs {
		_ = pp.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, pp := range r.procs {
		select {
		case <-pp.done:
		case <-time.After(10 * time.Second):
			_ = pp.cmd.Process.Kill()
			<-pp.done
		}
	}
}

// benchPart runs one part of a parent bench's stack until ctx ends.
func (e environment) benchPart(ctx context.Context, part, temporalAddr, databaseURL string, logger *slog.Logger) error {
	cat, err := dsl.Load(bench.Processes, "processes")
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, databaseURL)
	if err != nil {
		return err
	}
	defer func() { _ = st.Close() }()
	st.SetAuditKey(store.AuditKey([]byte(benchLinkSecret)))
	reg := newRegistry()
	cl, err := dialTemporal(ctx, temporalConfig{address: temporalAddr, namespace: "default"}, logger, reg)
	if err != nil {
		return err
	}
	defer cl.Close()
	switch part {
	case "worker":
		w, err := benchWorker(cl, st, cat, logger, e.getenv, reg)
		if err != nil {
			return err
		}
		<-ctx.Done()
		w.Stop()
		return nil
	case "api":
		addr := e.getenv(benchPartAddrEnv)
		wait, err := benchAPI(ctx, addr, st, cl, cat, logger, e.getenv, reg)
		if err != nil {
			return err
		}
		return wait()
	}
	return fmt.Errorf("%s=%q: the parts are api and worker", benchPartEnv, part)
}

// benchWorker starts a worker for the benchmark: incident runs and the
// hand-written baseline.
func benchWorker(cl client.Client, st *store.Store, cat *dsl.Catalog, logger *slog.Logger, getenv func(string) string, reg prometheus.Registerer) (sdkworker.Worker, error) {
	signer, err := links.New([]byte(getenv(linkSecretEnv)))
	if err != nil {
		return nil, err
	}
	return startWorker(cl, st, cat, signer, logger, getenv, io.Discard, reg, func(w sdkworker.Worker) {
		w.RegisterWorkflowWithOptions(bench.BaselineWorkflow, workflow.RegisterOptions{Name: bench.BaselineName})
		w.RegisterWorkflowWithOptions(bench.PaddedBaselineWorkflow, workflow.RegisterOptions{Name: bench.PaddedBaselineName})
	})
}

// benchAPI serves the API and the web app at addr until ctx ends; wait drains it.
func benchAPI(ctx context.Context, addr string, st *store.Store, cl client.Client, cat *dsl.Catalog, logger *slog.Logger, getenv func(string) string, reg *prometheus.Registry) (wait func() error, err error) {
	signer, err := links.New([]byte(getenv(linkSecretEnv)))
	if err != nil {
		return nil, err
	}
	server := api.New(apiConfig(st, cl, cat, logger, "http://"+addr, "", "default", reg))
	return serveHTTP(ctx, addr, appHandler(server, web.New(webConfig(server, st, signer, logger, "http://"+addr))), logger)
}

// benchLinkSecret signs the benchmark's action links: its stack's own.
const benchLinkSecret = "incidentflow-bench-links-0123456789abcdef"
