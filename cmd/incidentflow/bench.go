package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/bench"
	"github.com/incidentflow/incidentflow/devserver"
	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/store"
	"github.com/incidentflow/incidentflow/worker"
	"github.com/incidentflow/incidentflow/workflows"
)

// bench starts a stack of its own (or uses a real one) and measures it.
func (e environment) bench(ctx context.Context, args []string) error {
	f := e.flags("bench", "Measures incidentflow: declare throughput and latency over HTTP, the time from a declaration to\n"+
		"its first page, the interpreter against a hand-written Temporal workflow doing the same work, and (with\n"+
		"--scale) many open incidents. Starts an embedded Temporal server and SQLite on free ports unless\n"+
		"--temporal-addr and --database-url name a real deployment. Prints a table and writes JSON.")
	quick := f.fs.Bool("quick", false, "small counts: a smoke check of the harness in under a minute")
	scale := f.fs.Bool("scale", false, "also hold --scale-count incidents open and measure the stack carrying them")
	scaleCount := f.fs.Int("scale-count", 10000, "open incidents for --scale")
	rounds := f.fs.Int("rounds", 0, "rounds of the interpreter's comparison (0: 7, or 2 with --quick)")
	batch := f.fs.Int("batch", 0, "incidents of each kind a round of the comparison counts (0: 40, or 10 with --quick)")
	handicap := f.fs.Float64("handicap", 0, "the calibration's known slowdown, as more incidents (and replays) than counted (0: 0.2, or 1 and 0.25 with --quick)")
	concurrency := f.fs.Int("concurrency", 0, "declarations in flight at once for declare, load and scale (default: 8 with --quick, else 16)")
	var cacheSize int
	f.workerCache(&cacheSize)
	only := f.fs.String("only", "", "make only these measurements, comma-separated: "+strings.Join(bench.Measurements, ", "))
	var jsonPath, temporalAddr, databaseURL string
	f.str(&jsonPath, "json", "INCIDENTFLOW_BENCH_JSON", "bench.json", "where to write the results as JSON")
	f.str(&temporalAddr, "temporal-addr", "TEMPORAL_ADDRESS", "", "a Temporal frontend to use instead of the embedded one (its namespace default must be migrated)")
	f.secret(&databaseURL, "database-url", "DATABASE_URL", "a database to use instead of a SQLite file (it is migrated)")
	var parts benchParts
	f.benchParts(&parts)
	if err := f.parse(args); err != nil {
		return err
	}
	if temporalAddr != "" {
		f.hostPort("temporal-addr", temporalAddr)
	}
	parts.check(f)
	f.checkWorkerCache(cacheSize)
	if *concurrency < 0 {
		f.problem("--concurrency %d must be 1 or more (0: the default)", *concurrency)
	}
	for _, o := range []struct {
		name string
		v    float64
	}{{"rounds", float64(*rounds)}, {"batch", float64(*batch)}, {"handicap", *handicap}} {
		if o.v < 0 {
			f.problem("--%s %v cannot be negative (0: the default)", o.name, o.v)
		}
	}
	var measurements []string
	if *only != "" {
		for m := range strings.SplitSeq(*only, ",") {
			if m = strings.TrimSpace(m); !slices.Contains(bench.Measurements, m) {
				f.problem("--only: there is no measurement %q: the measurements are %s", m, strings.Join(bench.Measurements, ", "))
			}
			measurements = append(measurements, m)
		}
	}
	if err := f.check(); err != nil {
		return err
	}
	o := bench.Full()
	if *quick {
		o = bench.Quick()
	}
	o.Rounds, o.Batch = cmp.Or(*rounds, o.Rounds), cmp.Or(*batch, o.Batch)
	if *handicap > 0 {
		o.Handicap, o.ReplayHandicap = *handicap, *handicap
	}
	if *scale {
		o.Scale = *scaleCount
	} else if !*quick {
		o.Scale = 0
	}
	if *concurrency > 0 {
		o.Concurrency = *concurrency
	}
	o.Only = measurements
	o.Log = func(format string, args ...any) { fmt.Fprintf(e.stderr, "bench: "+format+"\n", args...) }
	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// Before any worker: this process's, or a worker part's.
	if err := worker.SetCacheSize(cacheSize); err != nil {
		return err
	}
	if part := e.getenv(benchPartEnv); part != "" {
		return e.benchPart(ctx, part, temporalAddr, databaseURL, logger)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	tmp, err := os.MkdirTemp("", "incidentflow-bench-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(tmp) }()

	// The webhook every delivery of the benchmark's directory goes to.
	hook := bench.NewReceiver()
	hookListener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hookServer := &http.Server{Handler: hook}
	go func() { _ = hookServer.Serve(hookListener) }()
	defer func() { _ = hookServer.Close() }()
	getenv := func(k string) string {
		switch k {
		case "BENCH_HOOK_URL":
			return "http://" + hookListener.Addr().String()
		case "BENCH_HOOK_SECRET":
			return "bench-secret"
		case linkSecretEnv:
			return benchLinkSecret // every part of the stack signs and reads the same links
		}
		return e.getenv(k)
	}
	cat, err := dsl.Load(bench.Processes, "processes")
	if err != nil {
		return err
	}

	env := bench.Env{Catalog: cat, Hook: hook}
	if temporalAddr == "" {
		port, err := devserver.FreePort("127.0.0.1")
		if err != nil {
			return err
		}
		temporalAddr = "127.0.0.1:" + strconv.Itoa(port)
		attrs := workflows.SearchAttributeTypes()
		dataDir := filepath.Join(tmp, "temporal")
		if err := os.MkdirAll(dataDir, 0o750); err != nil {
			return err
		}
		srv, err := devserver.Start(ctx, devserver.Options{DataDir: dataDir, FrontendAddr: temporalAddr, SearchAttributes: attrs, Logger: logger})
		if err != nil {
			return err
		}
		defer srv.Stop()
		env.Embedded = true
		env.TemporalDBSize = func() (int64, error) { return filesSize(dataDir) }
	}
	if databaseURL == "" {
		databaseURL = "sqlite:" + filepath.Join(tmp, "incidentflow.db")
	}
	st, err := store.Open(ctx, databaseURL)
	if err != nil {
		return err
	}
	defer func() { _ = st.Close() }()
	st.SetAuditKey(store.AuditKey([]byte(benchLinkSecret)))
	if _, err := st.Migrate(ctx); err != nil {
		return err
	}
	// A run of its own: a database used before keeps earlier runs' tokens.
	token, _, err := st.CreateToken(ctx, fmt.Sprintf("bench-%d", time.Now().UnixNano()),
		incidentflow.Principal{Kind: incidentflow.ServicePrincipal, ID: "bench", Role: incidentflow.RoleAdmin})
	if err != nil {
		return err
	}
	reg := newRegistry()
	cl, err := dialTemporal(ctx, temporalConfig{address: temporalAddr, namespace: "default"}, logger, reg)
	if err != nil {
		return err
	}
	defer cl.Close()
	running, apiURL, err := parts.start(ctx, e, temporalAddr, databaseURL, getenv)
	if err != nil {
		return err
	}
	defer running.stop()
	if len(running.procs) > 0 {
		env.Processes = running.measure(parts)
	}
	if watched, _ := parts.watched(); len(running.procs)+len(watched) > 0 {
		env.PartsCPU, env.PartsCovered = running.cpu(parts)
	}
	if len(parts.databases()) > 0 {
		env.TemporalDBSize = func() (int64, error) { return parts.temporalDBSize(ctx) }
	}
	if parts.workers == 0 {
		w, err := benchWorker(cl, st, cat, logger, getenv, reg)
		if err != nil {
			return err
		}
		defer w.Stop()
	}
	if apiURL == "" {
		port, err := devserver.FreePort("127.0.0.1")
		if err != nil {
			return err
		}
		apiAddr := "127.0.0.1:" + strconv.Itoa(port)
		apiCtx, stopAPI := context.WithCancel(ctx)
		wait, err := benchAPI(apiCtx, apiAddr, st, cl, cat, logger, getenv, reg)
		if err != nil {
			stopAPI()
			return err
		}
		defer func() { stopAPI(); _ = wait() }()
		apiURL = "http://" + apiAddr
	}

	env.APIURL, env.Token, env.Temporal, env.Store = apiURL, token, cl, st
	report, err := bench.Run(ctx, env, o)
	if err != nil {
		return err
	}
	report.WorkerCache = cacheSize
	printReport(e.stdout, report)
	data, err := json.MarshalIndent(report, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(jsonPath, append(data, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\nresults written to %s\n", jsonPath)
	if failures := report.Check(); len(failures) > 0 {
		fmt.Fprintf(e.stderr, "bench: the performance contract is not met:\n")
		for _, f := range failures {
			fmt.Fprintf(e.stderr, "  - %s\n", f)
		}
		return exitCode(1)
	}
	if report.Overhead != nil && !report.Judged() {
		o := report.Overhead
		why := "a quick run's small batches cannot resolve it: run without --quick"
		if !*quick {
			why = "the machine was too busy to resolve it: run it again when nothing else runs"
		}
		switch t := o.Replay; {
		case t != nil:
			fmt.Fprintf(e.stdout, "the interpreter's throughput is not judged: by its workflow code, %.3f ±%.3f, the target %.2f (%s)\n",
				t.Throughput, t.ThroughputResolution, 1-bench.MaxOverhead, why)
		case o.Resolution() <= bench.MaxOverhead:
			fmt.Fprintf(e.stdout, "the interpreter's throughput is not judged: its ratio, %.2f ±%.2f, is within this run's resolution of the target, %.2f (%s)\n",
				o.ThroughputRatio, o.Resolution(), 1-bench.MaxOverhead, why)
		default:
			fmt.Fprintf(e.stdout, "the interpreter's throughput is not judged: this run's comparison resolves ±%.0f%%, the target is %.0f%% (%s)\n",
				100*o.Resolution(), 100*bench.MaxOverhead, why)
		}
	}
	return nil
}

func filesSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err == nil {
			n += info.Size()
		}
		return err
	})
	return n, err
}

func printReport(out io.Writer, r bench.Report) {
	fmt.Fprintf(out, "incidentflow bench — %s\n%s\nworker cache: %d runs a worker process\n\n", r.Date, r.Machine, r.WorkerCache)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "measurement\tcount\tper second\tp50\tp95\tp99\tslowest")
	row := func(name string, l bench.Latency) {
		if l.Count == 0 && l.Errors == 0 { // not measured
			return
		}
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f ms\t%.1f ms\t%.1f ms\t%.1f ms\n", name, l.Count, l.PerSecond, l.P50ms, l.P95ms, l.P99ms, l.Maxms)
	}
	row(fmt.Sprintf("declare over HTTP (concurrency %d)", r.Options.Concurrency), r.Declare)
	row("declare → first page delivered", r.FirstPage)
	row(fmt.Sprintf("burst of %d: declare → first page", r.Options.Burst), r.Burst)
	if a := r.Alerts; a != nil {
		row(fmt.Sprintf("alert notifications of %d alerts", r.Options.AlertGroup), a.Latency)
	}
	if l := r.Load; l != nil {
		row(fmt.Sprintf("load: %d declarations (concurrency %d)", l.Declarations.Count, r.Options.Concurrency), l.Declarations)
		row(fmt.Sprintf("load: reading an incident meanwhile (%d failed, %d without state)", l.Reads.Errors, l.Without), l.Reads)
		row(fmt.Sprintf("load: the same, asking the run live (%d failed, %d without state)", l.LiveReads.Errors, l.LiveWithout), l.LiveReads)
		row(fmt.Sprintf("load: acknowledging, changing status meanwhile (%d failed)", l.Actions.Errors), l.Actions)
		if w := l.Waits; w != nil {
			for _, part := range []struct {
				name string
				l    bench.Latency
				ms   float64
			}{{"to its workflow task", w.ToTask, w.SlowestMs[0]}, {"its task queued for a worker", w.Queued, w.SlowestMs[1]},
				{"the worker's task", w.Worker, w.SlowestMs[2]}, {"the task's completion reaching the API", w.ToAPI, w.SlowestMs[3]},
				{"the result (the run's later tasks, the API's second call)", w.Result, w.SlowestMs[4]}, {"the API's answer after (audit log, HTTP, the trips to and from it)", w.AfterUpdate, w.SlowestMs[5]}} {
				l := part.l
				fmt.Fprintf(tw, "  of which %s (slowest 1%%: %.0f ms)\t%d\t\t%.1f ms\t%.1f ms\t%.1f ms\t%.1f ms\n", part.name, part.ms, l.Count, l.P50ms, l.P95ms, l.P99ms, l.Maxms)
			}
		}
	}
	if s := r.Scale; s != nil {
		row(fmt.Sprintf("declare with %d incidents open", s.Open), s.DeclareWhileOpen)
		row(fmt.Sprintf("waking one of the %d open (acknowledging it)", s.Open), s.WakeUps)
	}
	_ = tw.Flush()
	if o := r.Overhead; o != nil {
		fmt.Fprintln(out)
		fmt.Fprintf(out, "the interpreter against the hand-written workflow, by the CPU time of: %s\n", strings.Join(o.CPUCovers, ", "))
		tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "\tCPU ms an incident (median)\tincidents/s alone (median)\thistory events\trounds' incidents/s")
		for _, k := range []struct {
			name string
			k    bench.Kind
		}{{"interpreter (YAML)", o.Interpreter}, {"hand-written workflow", o.Baseline}} {
			fmt.Fprintf(tw, "%s\t%.1f\t%.2f\t%d (%d–%d)\t%.2f\n", k.name, 1000*k.k.CPUPerIncident, k.k.IncidentsPerSecond, k.k.HistoryEvents,
				k.k.HistoryEventsRange[0], k.k.HistoryEventsRange[1], k.k.Rates)
		}
		fmt.Fprintf(tw, "throughput ratio (median of rounds)\t%.2f\t\t%.2f\t%.2f\n", o.ThroughputRatio, o.EventsRatio, o.RoundRatios)
		c := o.Calibration
		fmt.Fprintf(tw, "calibration: handicapped by %.0f%%\t%.2f (expected %.2f)\t\t\t%.2f\n", 100*c.Handicap, c.Measured, c.Expected, c.HandicapRatios)
		fmt.Fprintf(tw, "calibration: against itself\t%.2f (expected 1)\t\t\t%.2f\n", c.Same, c.SameRatios)
		fmt.Fprintf(tw, "calibration: padded with %d events\t\t\t+%d\t\n", c.PaddingEvents, c.MeasuredPadding)
		fmt.Fprintf(tw, "resolution (the error where the answer was known)\t±%.2f\t\t\t\n", c.Resolution())
		_ = tw.Flush()
		if t := o.Replay; t != nil {
			fmt.Fprintf(out, "\nthe same, by the CPU time of replaying their histories: the workflow code alone (%d and %d histories, %d passes, kinds in turn):\n", t.Histories[0], t.Histories[1], t.Passes)
			tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
			fmt.Fprintf(tw, "interpreter (YAML)\t%.3f ms an incident\t\n", t.InterpreterMs)
			fmt.Fprintf(tw, "hand-written workflow\t%.3f ms an incident\t\n", t.BaselineMs)
			fmt.Fprintf(tw, "throughput ratio\t%.2f\tpasses %.2f\n", t.Ratio, t.PassRatios)
			fmt.Fprintf(tw, "calibration: %.0f%% more replays than counted\t%.2f (expected %.2f)\tpasses %.2f\n", 100*t.Handicap, t.Handicapped, t.Expected, t.HandicappedPasses)
			fmt.Fprintf(tw, "calibration: against itself\t%.2f (expected 1)\tpasses %.2f\n", t.Same, t.SamePasses)
			fmt.Fprintf(tw, "resolution\t±%.2f\t\n", t.Resolution())
			fmt.Fprintf(tw, "throughput, the code's extra %.2f ms on a stack of %.1f ms (±%.0f%%)\t%.3f ±%.3f\t\n",
				t.InterpreterMs-t.BaselineMs, t.StackMs, 100*t.StackResolution, t.Throughput, t.ThroughputResolution)
			_ = tw.Flush()
		}
	}
	if a := r.Alerts; a != nil {
		fmt.Fprintf(out, "\nalert intake: %d alerts in %d notifications, %.0f alerts/s; %d fingerprints, %d incidents\n",
			a.Alerts, a.Notifications, a.PerSecond, a.Fingerprints, a.Incidents)
		if a.BigPayload > 0 {
			fmt.Fprintf(out, "one notification of %d alerts: answered in %.1f s (%.0f alerts/s), %d incidents, every run started after %.1f s\n",
				a.BigPayload, a.BigSeconds, float64(a.BigPayload)/a.BigSeconds, a.BigIncidents, a.BigStarted)
		}
	}
	if s := r.Scale; s != nil {
		fmt.Fprintf(out, "\n%d incidents open (declared at %.0f/s, all started after %.0fs):\n", s.Open, s.DeclarePerSec, s.SettleSeconds)
		fmt.Fprintf(out, "  resident memory %.0f MiB (%s), Go heap %.0f MiB\n", float64(s.RSSBytes)/(1<<20), s.RSSCovers, float64(s.HeapBytes)/(1<<20))
		for _, p := range s.Processes {
			fmt.Fprintf(out, "  %s (pid %d): resident %.0f MiB, proportional %.0f MiB with its children\n", p.Name, p.PID, float64(p.RSSBytes)/(1<<20), float64(p.PSSBytes)/(1<<20))
		}
		fmt.Fprintf(out, "  app database %.1f MiB", float64(s.AppDBBytes)/(1<<20))
		if s.TemporalDBBytes > 0 {
			fmt.Fprintf(out, ", Temporal database %.1f MiB", float64(s.TemporalDBBytes)/(1<<20))
		}
		fmt.Fprintln(out)
	}
}
