package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/store"
)

// Options size the measurements. Every count is bounded, and so is every
// measurement's wall time.
type Options struct {
	// Declare: Requests POSTs at Concurrency, stopping at MaxDuration.
	Requests    int
	Concurrency int
	MaxDuration time.Duration
	// FirstPage samples of the time from a declaration to its first page.
	FirstPage int
	// Burst declarations at once, each timed to its first page.
	Burst int
	// Alerts sent to alert intake, in groups of AlertGroup per
	// notification, each fingerprint AlertRepeats times; then one
	// notification of BigPayload alerts, timed whole.
	Alerts, AlertGroup, AlertRepeats int
	BigPayload                       int
	// Overhead: Rounds, each running Batch incidents of each side in turn;
	// the calibration's slowed side runs Handicap more work (0.2: a fifth more).
	Rounds, Batch int
	Handicap      float64
	// ReplayHandicap is the replay comparison's known slowdown: the
	// replays of the slowed side beyond those counted (0.25: a quarter).
	ReplayHandicap float64
	// Load declarations, then their closing, while people read and act
	// on other incidents (0: not measured).
	Load int
	// Scale open incidents held waiting (0: not measured).
	Scale int
	// Quick says these are the quick options: a smoke check of the
	// harness, whose comparisons are reported and never judged.
	Quick bool `json:",omitempty"`
	// Only names the Measurements to make (none: all of them).
	Only []string `json:",omitempty"`
	// Log reports progress.
	Log func(format string, args ...any) `json:"-"`
}

// Quick are options that check the harness in about two minutes. Its
// calibration doubles the slowed side's work: a difference the comparison must
// see through any noise, not the 10% the contract is judged by.
func Quick() Options {
	return Options{Requests: 100, Concurrency: 8, MaxDuration: 20 * time.Second, FirstPage: 5, Burst: 20,
		Alerts: 60, AlertGroup: 10, AlertRepeats: 2, BigPayload: 100, Rounds: 2, Batch: 10, Handicap: 1, ReplayHandicap: 0.25, Load: 100, Scale: 100, Quick: true}
}

// Full are the options BENCHMARKS.md quotes.
func Full() Options {
	return Options{Requests: 2000, Concurrency: 16, MaxDuration: 2 * time.Minute, FirstPage: 30, Burst: 500,
		Alerts: 3000, AlertGroup: 10, AlertRepeats: 3, BigPayload: 5000, Rounds: 7, Batch: 40, Handicap: 0.2, ReplayHandicap: 0.2, Load: 2000}
}

// Env is the running stack the benchmark drives.
type Env struct {
	APIURL   string
	Token    string
	Temporal client.Client
	Store    *store.Store
	Catalog  *dsl.Catalog
	Hook     *Receiver
	// TemporalDBSize measures the Temporal server's database, when it is known.
	TemporalDBSize func() (int64, error)
	// Embedded says the Temporal server runs in this process.
	Embedded bool
	// Processes measures the stack's parts that run as processes of their own
	// (nil: the API and the worker run in this one).
	Processes func() ([]Process, error)
	// PartsCPU is the CPU time the stack's parts running apart have used
	// (nil: none do), and PartsCovered names them: the comparison of the
	// interpreter with the baseline counts their CPU beside this process's.
	PartsCPU     func() (time.Duration, error)
	PartsCovered []string
}

// Latency is a set of timings.
type Latency struct {
	Count     int     `json:"count"`
	Errors    int     `json:"errors"`
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"per_second"`
	P50ms     float64 `json:"p50_ms"`
	P95ms     float64 `json:"p95_ms"`
	P99ms     float64 `json:"p99_ms"`
	// Maxms is the slowest: of a burst, the last to finish.
	Maxms float64 `json:"max_ms"`
}

func latency(ds []time.Duration, errs int, elapsed time.Duration) Latency {
	slices.Sort(ds)
	q := func(p float64) float64 {
		if len(ds) == 0 {
			return 0
		}
		i := int(p * float64(len(ds)-1))
		return float64(ds[i].Microseconds()) / 1000
	}
	l := Latency{Count: len(ds), Errors: errs, Seconds: elapsed.Seconds(), P50ms: q(0.50), P95ms: q(0.95), P99ms: q(0.99), Maxms: q(1)}
	if elapsed > 0 {
		l.PerSecond = float64(len(ds)) / elapsed.Seconds()
	}
	return l
}

// Kind is one way of running the benchmark process.
type Kind struct {
	// CPUPerIncident is the median over rounds of the CPU time this process
	// spent on an incident, in seconds: the cost the throughput ratio compares.
	CPUPerIncident float64 `json:"cpu_seconds_per_incident"`
	// IncidentsPerSecond is the median over rounds of the rate its batches
	// completed at, alone on the stack; Rates are every round's.
	IncidentsPerSecond float64   `json:"incidents_per_second"`
	Rates              []float64 `json:"rates"`
	// HistoryEvents is the median number of events in a completed run's
	// history; the range shows how workflow-task batching varies it.
	HistoryEvents      int    `json:"history_events"`
	HistoryEventsRange [2]int `json:"history_events_range"`
	// WorkEvents is the median number of events that are not workflow
	// tasks' own: what the run did, however the server batched it.
	WorkEvents int `json:"work_events"`
}

// Overhead compares the interpreter with the hand-written baseline.
type Overhead struct {
	Interpreter Kind `json:"interpreter"`
	Baseline    Kind `json:"baseline"`
	// ThroughputRatio is the median over rounds of the incidents the
	// interpreter can complete a second for each the baseline can: the
	// baseline's CPU time an incident over the interpreter's (1 is parity,
	// below 1 the interpreter costs more). EventsRatio is
	// interpreter/baseline history events (1 is parity).
	ThroughputRatio float64     `json:"throughput_ratio"`
	RoundRatios     []float64   `json:"round_ratios"`
	EventsRatio     float64     `json:"events_ratio"`
	Calibration     Calibration `json:"calibration"`
	// CPUCovers names the processes whose CPU time the comparison counts.
	CPUCovers []string `json:"cpu_covers"`
	// Replay compares them by the CPU time their workflow code takes,
	// replaying their histories; it is the comparison Check judges.
	Replay *ReplayComparison `json:"replay,omitempty"`
}

// ReplayComparison is the interpreter against the hand-written baseline by
// what their workflow code costs: the CPU time of this process while the
// SDK's replayer runs completed histories of each kind, the same code a
// worker runs for their workflow tasks, without the server, the database
// and the activities (whose results replay reads from the history). The
// kinds replay in turn, history by history in a shuffled order, so that
// whatever else the machine does falls on each alike. Each pass also
// replays the baseline's histories a second time as another kind (it must
// compare at 1) and as a third with Handicap more replays than are counted
// (it must compare at Expected). Costs and ratios are of every pass
// together; the passes' own ratios show their spread.
type ReplayComparison struct {
	// InterpreterMs and BaselineMs are the CPU milliseconds an incident's
	// workflow code costs of each kind; Ratio is the baseline's over the
	// interpreter's: the incidents the interpreter's code completes for each
	// the hand-written code does.
	InterpreterMs float64   `json:"interpreter_ms"`
	BaselineMs    float64   `json:"baseline_ms"`
	Ratio         float64   `json:"ratio"`
	PassRatios    []float64 `json:"pass_ratios"`
	// Handicap, Expected, Handicapped: the slowed baseline's extra
	// replays, the ratio of its cost to the baseline's it should show, and
	// the one it showed; Same is the baseline replayed again against it.
	Handicap          float64   `json:"handicap"`
	Expected          float64   `json:"expected"`
	Handicapped       float64   `json:"handicapped"`
	HandicappedPasses []float64 `json:"handicapped_passes"`
	Same              float64   `json:"same"`
	SamePasses        []float64 `json:"same_passes"`
	// Histories is how many histories of the interpreter's and of the
	// baseline's were replayed, Passes how many times each.
	Histories [2]int `json:"histories"`
	Passes    int    `json:"passes"`
	// StackMs is the whole stack's CPU milliseconds an incident of the
	// baseline costs (the CPU comparison's median), and Throughput the
	// incidents the interpreter completes for each the baseline does on a
	// stack the CPU limits, by its workflow code's extra cost:
	// StackMs / (StackMs + InterpreterMs - BaselineMs).
	StackMs    float64 `json:"stack_ms"`
	Throughput float64 `json:"throughput"`
	// StackResolution is the CPU comparison's resolution, the share by
	// which StackMs may be off; ThroughputResolution is how far Throughput
	// may be off for it and for the replay's own error.
	StackResolution      float64 `json:"stack_resolution"`
	ThroughputResolution float64 `json:"throughput_resolution"`
}

// throughput sets Throughput and its resolution from the replay's costs
// and the stack's CPU an incident, known to within stackRes of itself.
func (c *ReplayComparison) throughput(stackMs, stackRes float64) {
	c.StackMs, c.StackResolution = stackMs, stackRes
	extra, err := c.InterpreterMs-c.BaselineMs, c.Resolution()*c.BaselineMs
	at := func(stack, extra float64) float64 { return stack / (stack + extra) }
	c.Throughput = at(stackMs, extra)
	lo, hi := at(stackMs*max(0, 1-stackRes), extra+err), at(stackMs*(1+stackRes), max(0, extra-err))
	c.ThroughputResolution = max(c.Throughput-lo, hi-c.Throughput)
}

// Resolution is the largest error the replay comparison made where the
// answer was known, and never finer than a hundredth.
func (c ReplayComparison) Resolution() float64 {
	return max(0.01, math.Abs(c.Handicapped-c.Expected), math.Abs(c.Same-1))
}

// Calibration is what the comparison saw of differences it was told of.
type Calibration struct {
	// Handicap is the extra work of the slowed baseline (0.2: a fifth);
	// Expected is the ratio the comparison should see (1.2), Measured the median
	// of what it saw, HandicapRatios each round's.
	Handicap       float64   `json:"handicap"`
	Expected       float64   `json:"expected"`
	Measured       float64   `json:"measured"`
	HandicapRatios []float64 `json:"handicap_ratios"`
	// Same is the median ratio of the baseline compared with itself.
	Same       float64   `json:"same"`
	SameRatios []float64 `json:"same_ratios"`
	// PaddingEvents is how many events the padded baseline adds;
	// MeasuredPadding what the counting saw, in events that are not
	// workflow tasks' own (their number depends on the server's batching).
	PaddingEvents   int  `json:"padding_events"`
	MeasuredPadding int  `json:"measured_padding"`
	padded          Kind // the padded baseline's runs
}

// Resolution is the smallest difference of throughput the comparison can be
// trusted with: the largest error it made where the answer was known — the
// baseline against itself (the median's distance from 1, and half the
// spread of the rounds' ratios) and against its handicapped self (the
// median's distance from the expected ratio) — and never finer than a
// quarter of the handicap it was calibrated with.
func (c Calibration) Resolution() float64 {
	r := max(c.Handicap/4, math.Abs(c.Same-1), math.Abs(c.Measured-c.Expected))
	if len(c.SameRatios) > 1 {
		r = max(r, (slices.Max(c.SameRatios)-slices.Min(c.SameRatios))/2)
	}
	return r
}

// Resolution is how finely the comparison judged can be trusted: its
// calibration's resolution, and half the spread of its own rounds.
func (o Overhead) Resolution() float64 {
	r := o.Calibration.Resolution()
	if len(o.RoundRatios) > 1 {
		r = max(r, (slices.Max(o.RoundRatios)-slices.Min(o.RoundRatios))/2)
	}
	return r
}

// Alerts is alert intake under load.
type Alerts struct {
	Alerts        int     `json:"alerts"`
	Notifications int     `json:"notifications"`
	Fingerprints  int     `json:"fingerprints"`
	Incidents     int     `json:"incidents"`
	PerSecond     float64 `json:"alerts_per_second"`
	Latency       Latency `json:"notification_latency"`
	// BigPayload alerts in one notification took BigSeconds to answer,
	// declaring BigIncidents, whose runs had all started BigStarted seconds
	// after it was sent (BigUnstarted of them had not, minutes later).
	BigPayload   int     `json:"big_payload,omitempty"`
	BigSeconds   float64 `json:"big_payload_seconds,omitempty"`
	BigIncidents int     `json:"big_payload_incidents,omitempty"`
	BigStarted   float64 `json:"big_payload_started_seconds,omitempty"`
	BigUnstarted int     `json:"big_payload_unstarted,omitempty"`
}

// Scale is the stack with many incidents open.
type Scale struct {
	Open            int     `json:"open"`
	DeclarePerSec   float64 `json:"declare_per_second"`
	SettleSeconds   float64 `json:"settle_seconds"`
	RSSBytes        int64   `json:"rss_bytes"`
	HeapBytes       int64   `json:"heap_bytes"`
	AppDBBytes      int64   `json:"app_db_bytes"`
	TemporalDBBytes int64   `json:"temporal_db_bytes,omitempty"`
	// DeclareWhileOpen is declare latency with them all waiting.
	DeclareWhileOpen Latency `json:"declare_while_open"`
	// WakeUps are acknowledgements of open incidents picked at random once
	// they all settled, one after another, each timed to its answer: the
	// run must wake for it, and one its worker no longer holds in memory
	// replays its history first.
	WakeUps Latency `json:"wake_ups"`
	// RSSCovers says what the resident memory is of.
	RSSCovers string `json:"rss_covers"`
	// Processes are the parts running apart, each measured on its own.
	Processes []Process `json:"processes,omitempty"`
}

// Report is everything measured.
type Report struct {
	Date      string    `json:"date"`
	Machine   string    `json:"machine"`
	Options   Options   `json:"options"`
	Declare   Latency   `json:"declare"`
	FirstPage Latency   `json:"first_page"`
	Burst     Latency   `json:"burst_first_page"`
	Alerts    *Alerts   `json:"alerts,omitempty"`
	Load      *Load     `json:"load,omitempty"`
	Overhead  *Overhead `json:"overhead,omitempty"`
	Scale     *Scale    `json:"scale,omitempty"`
	// WorkerCache is how many runs each worker of the stack kept in memory.
	WorkerCache int `json:"worker_cache_size"`
}

// MarshalJSON writes the durations as people read them.
func (o Options) MarshalJSON() ([]byte, error) {
	type plain Options
	return json.Marshal(struct {
		plain
		MaxDuration string
	}{plain(o), o.MaxDuration.String()})
}

// Measurements name what Run measures, in order; Options.Only picks some.
var Measurements = []string{"declare", "first-page", "burst", "alerts", "load", "overhead", "scale"}

// Run makes every measurement in turn (those of o.Only, when it names some).
func Run(ctx context.Context, env Env, o Options) (Report, error) {
	if o.Log == nil {
		o.Log = func(string, ...any) {}
	}
	r := Report{Date: time.Now().UTC().Format(time.RFC3339), Machine: machine(), Options: o}
	b := &runner{env: env, o: o}
	on := func(m string) bool { return len(o.Only) == 0 || slices.Contains(o.Only, m) }
	var err error
	if on("declare") {
		o.Log("declare: %d requests at concurrency %d", o.Requests, o.Concurrency)
		if r.Declare, err = b.declareThroughput(ctx, "quiet", o.Requests, o.Concurrency, o.MaxDuration); err != nil {
			return r, fmt.Errorf("declare: %w", err)
		}
	}
	if on("first-page") {
		o.Log("first page: %d samples", o.FirstPage)
		if r.FirstPage, err = b.firstPage(ctx, o.FirstPage); err != nil {
			return r, fmt.Errorf("first page: %w", err)
		}
	}
	if on("burst") {
		o.Log("burst: %d declarations at once, each to its first page", o.Burst)
		if r.Burst, err = b.burst(ctx, o.Burst); err != nil {
			return r, fmt.Errorf("burst: %w", err)
		}
	}
	if on("alerts") {
		o.Log("alert intake: %d alerts in notifications of %d, each fingerprint %d times", o.Alerts, o.AlertGroup, o.AlertRepeats)
		if r.Alerts, err = b.alerts(ctx); err != nil {
			return r, fmt.Errorf("alerts: %w", err)
		}
	}
	if on("load") && o.Load > 0 {
		o.Log("load: %d declarations at concurrency %d and their closing, while people read and act", o.Load, o.Concurrency)
		if r.Load, err = b.load(ctx); err != nil {
			return r, fmt.Errorf("load: %w", err)
		}
	}
	if on("overhead") {
		o.Log("interpreter against baseline: %d rounds of %d incidents each (calibrated with a %.0f%% handicap)", o.Rounds, o.Batch, 100*o.Handicap)
		if r.Overhead, err = b.overhead(ctx); err != nil {
			return r, fmt.Errorf("overhead: %w", err)
		}
	}
	if on("scale") && o.Scale > 0 {
		o.Log("scale: %d open incidents", o.Scale)
		if r.Scale, err = b.scale(ctx, o.Scale); err != nil {
			return r, fmt.Errorf("scale: %w", err)
		}
	}
	return r, nil
}

type runner struct {
	env Env
	o   Options
	seq atomic.Int64
}

// call makes an API request and decodes the answer.
func (b *runner) call(ctx context.Context, method, path string, body any, out any) (int, error) {
	_, code, err := b.exchange(ctx, method, path, body, out)
	return code, err
}

// exchange is call, returning the answer's header too.
func (b *runner) exchange(ctx context.Context, method, path string, body any, out any) (http.Header, int, error) {
	// A read sends no body: a GET with one ("null") is a request that
	// proxies and caches need not pass on as sent.
	var sent io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return nil, 0, err
		}
		sent = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, b.env.APIURL+path, sent)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+b.env.Token)
	if sent != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if method == http.MethodPost && path == "/v1/incidents" {
		req.Header.Set("Idempotency-Key", fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), b.seq.Add(1)))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.Header, resp.StatusCode, fmt.Errorf("%s %s: %d, its answer cut short: %w", method, path, resp.StatusCode, err)
	}
	if resp.StatusCode >= 300 {
		return resp.Header, resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, strings.TrimSpace(string(data)))
	}
	if out != nil {
		return resp.Header, resp.StatusCode, json.Unmarshal(data, out)
	}
	return resp.Header, resp.StatusCode, nil
}

func (b *runner) declare(ctx context.Context, typ string) (string, error) {
	var inc struct {
		Ref string `json:"ref"`
	}
	_, err := b.call(ctx, http.MethodPost, "/v1/incidents", map[string]any{"type": typ, "title": "Benchmark " + typ, "severity": "critical"}, &inc)
	return inc.Ref, err
}

// forEach runs fn n times at concurrency c, stopping early at the deadline.
func forEach(ctx context.Context, n, c int, deadline time.Time, fn func(i int)) {
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil || (!deadline.IsZero() && time.Now().After(deadline)) {
					return
				}
				fn(i)
			}
		}()
	}
	wg.Wait()
}

// declareMany POSTs n declarations at concurrency c, stopping at the
// deadline, and times each answer.
func (b *runner) declareMany(ctx context.Context, typ string, n, c int, deadline time.Time) (ds []time.Duration, refs []string, errs int, firstErr error) {
	var mu sync.Mutex
	forEach(ctx, n, c, deadline, func(int) {
		t := time.Now()
		ref, err := b.declare(ctx, typ)
		d := time.Since(t)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs++
			firstErr = cmpErr(firstErr, err)
			return
		}
		ds = append(ds, d)
		refs = append(refs, ref)
	})
	return ds, refs, errs, firstErr
}

// declareThroughput measures declarations, then closes what they opened.
func (b *runner) declareThroughput(ctx context.Context, typ string, n, c int, max time.Duration) (Latency, error) {
	start := time.Now()
	ds, refs, errs, firstErr := b.declareMany(ctx, typ, n, c, start.Add(max))
	l := latency(ds, errs, time.Since(start))
	if len(ds) == 0 {
		return l, firstErr
	}
	b.closeAll(ctx, refs)
	return l, nil
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// closeAll closes incidents so their runs end (not timed), a few at a time,
// and tries again those a busy server did not close in time.
func (b *runner) closeAll(ctx context.Context, refs []string) {
	for attempt := 0; attempt < 3 && len(refs) > 0; attempt++ {
		var mu sync.Mutex
		var left []string
		forEach(ctx, len(refs), min(4, b.o.Concurrency), time.Time{}, func(i int) {
			code, err := b.call(ctx, http.MethodPost, "/v1/incidents/"+refs[i]+"/status", map[string]any{"status": "closed"}, nil)
			if err != nil && code != http.StatusConflict { // 409: closed already
				mu.Lock()
				left = append(left, refs[i])
				mu.Unlock()
			}
		})
		refs = left
	}
	if len(refs) > 0 {
		b.o.Log("%d incidents could not be closed; their runs wait idle", len(refs))
	}
}

// firstPage times declarations until their page reaches the receiver.
func (b *runner) firstPage(ctx context.Context, n int) (Latency, error) {
	return b.oneByOne(ctx, "bench", n, func(ref string) error { return b.env.Hook.Wait(ctx, ref, "page", 30*time.Second) })
}

// oneByOne declares n incidents of a type one after another, each timed
// until it is declared and then done holds (nil: at once), and closes them.
func (b *runner) oneByOne(ctx context.Context, typ string, n int, done func(ref string) error) (Latency, error) {
	var ds []time.Duration
	var refs []string
	start := time.Now()
	for range n {
		t := time.Now()
		ref, err := b.declare(ctx, typ)
		if err != nil {
			return Latency{}, err
		}
		if done != nil {
			if err := done(ref); err != nil {
				return Latency{}, err
			}
		}
		ds = append(ds, time.Since(t))
		refs = append(refs, ref)
	}
	l := latency(ds, 0, time.Since(start))
	b.closeAll(ctx, refs)
	return l, nil
}

// scale holds n incidents open, waiting on timers and a signal, and measures
// the stack carrying them.
func (b *runner) scale(ctx context.Context, n int) (*Scale, error) {
	before, err := b.env.Store.CountEvents(ctx, "waiting", "declared") // a database used before
	if err != nil {
		return nil, err
	}
	start := time.Now()
	l, refs, err := b.declareOpen(ctx, n)
	if err != nil {
		return nil, err
	}
	s := &Scale{Open: l.Count, DeclarePerSec: l.PerSecond}
	// Settled: every run has taken its first workflow task and written its
	// declaration to the timeline.
	for {
		done, err := b.env.Store.CountEvents(ctx, "waiting", "declared")
		if err != nil {
			return nil, err
		}
		if done-before >= s.Open {
			break
		}
		// Bounded: half an hour, or as long as 20 runs a second would take.
		if limit := max(30*time.Minute, time.Duration(n)*50*time.Millisecond); time.Since(start) > limit {
			return nil, fmt.Errorf("only %d of %d runs started within %s", done-before, s.Open, limit)
		}
		time.Sleep(200 * time.Millisecond)
	}
	s.SettleSeconds = time.Since(start).Seconds()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s.HeapBytes = int64(ms.HeapAlloc)
	s.RSSBytes = rss()
	s.RSSCovers = "this process: the API, the worker"
	if b.env.Embedded {
		s.RSSCovers += " and the embedded Temporal server"
	}
	if b.env.Processes != nil {
		s.RSSCovers = "this process: the driver and its webhook receiver"
		if s.Processes, err = b.env.Processes(); err != nil {
			return nil, err
		}
	}
	if s.AppDBBytes, err = b.env.Store.Size(ctx); err != nil {
		return nil, err
	}
	if b.env.TemporalDBSize != nil {
		if s.TemporalDBBytes, err = b.env.TemporalDBSize(); err != nil {
			return nil, err
		}
	}
	if s.DeclareWhileOpen, err = b.oneByOne(ctx, "quiet", min(100, max(10, n/100)), nil); err != nil {
		return nil, err
	}
	if s.WakeUps, err = b.wakeUps(ctx, refs, min(200, max(5, n/50))); err != nil {
		return nil, err
	}
	return s, nil
}

func (b *runner) declareOpen(ctx context.Context, n int) (Latency, []string, error) {
	start := time.Now()
	ds, refs, errs, firstErr := b.declareMany(ctx, "waiting", n, b.o.Concurrency, time.Time{})
	if errs > 0 {
		return Latency{}, nil, fmt.Errorf("%d of %d declarations failed: %w", errs, n, firstErr)
	}
	return latency(ds, 0, time.Since(start)), refs, nil
}

// wakeUps acknowledges n of the open incidents picked at random, one after
// another, timing each answer: an acknowledgement is an update, answered
// once the run has taken it in a workflow task.
func (b *runner) wakeUps(ctx context.Context, refs []string, n int) (Latency, error) {
	picked := slices.Clone(refs)
	rand.Shuffle(len(picked), func(i, j int) { picked[i], picked[j] = picked[j], picked[i] })
	picked = picked[:min(n, len(picked))]
	ds := make([]time.Duration, 0, len(picked))
	start := time.Now()
	for _, ref := range picked {
		t := time.Now()
		if _, err := b.call(ctx, http.MethodPost, "/v1/incidents/"+ref+"/acknowledge", map[string]any{}, nil); err != nil {
			return Latency{}, fmt.Errorf("waking %s: %w", ref, err)
		}
		ds = append(ds, time.Since(t))
	}
	return latency(ds, 0, time.Since(start)), nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ints(xs []int) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = float64(x)
	}
	return out
}

// rss is this process's resident memory, from /proc (0 where there is none).
func rss() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	return procKB(string(data), "VmRSS:")
}

// machine describes where the figures come from.
func machine() string {
	cpu := ""
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if rest, ok := strings.CutPrefix(line, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), ":"))
				break
			}
		}
	}
	return fmt.Sprintf("%d CPU %s, %s/%s, %s", runtime.NumCPU(), cpu, runtime.GOOS, runtime.GOARCH, runtime.Version())
}

// Receiver is the webhook the benchmark's deliveries go to; it lets the
// driver wait for a delivery of an incident.
type Receiver struct {
	mu   sync.Mutex
	seen map[string]map[string]int // ref → event → count
	cond *sync.Cond
}

// NewReceiver returns an empty receiver.
func NewReceiver() *Receiver {
	r := &Receiver{seen: map[string]map[string]int{}}
	r.cond = sync.NewCond(&r.mu)
	return r
}

func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var m struct {
		Event    string `json:"event"`
		Incident struct {
			Ref string `json:"ref"`
		} `json:"incident"`
	}
	if err := json.NewDecoder(req.Body).Decode(&m); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	if r.seen[m.Incident.Ref] == nil {
		r.seen[m.Incident.Ref] = map[string]int{}
	}
	r.seen[m.Incident.Ref][m.Event]++
	r.cond.Broadcast()
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// Wait blocks until the incident has had a delivery of the event.
func (r *Receiver) Wait(ctx context.Context, ref, event string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	stop := context.AfterFunc(ctx, func() { r.mu.Lock(); r.cond.Broadcast(); r.mu.Unlock() })
	defer stop()
	timer := time.AfterFunc(timeout, func() { r.mu.Lock(); r.cond.Broadcast(); r.mu.Unlock() })
	defer timer.Stop()
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.seen[ref][event] == 0 {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return errors.New("no " + event + " for " + ref + " within " + timeout.String())
		}
		r.cond.Wait()
	}
	return nil
}

// ownCPU is the CPU time this process has used, user and system.
func ownCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// stackCPU is the CPU time the stack has used: this process's and that of
// its parts running apart.
func (b *runner) stackCPU() (time.Duration, error) {
	t, err := ownCPU()
	if err != nil {
		return 0, err
	}
	if b.env.PartsCPU != nil {
		parts, err := b.env.PartsCPU()
		if err != nil {
			return 0, fmt.Errorf("CPU time of the stack's parts: %w", err)
		}
		t += parts
	}
	return t, nil
}
