package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/store"
	"github.com/incidentflow/incidentflow/workflows"
)

// side is one way of running the benchmark process: a workflow, and the
// extra work it is handicapped with — the uncounted incidents it runs for
// each one counted (0.25: one more for every four).
type side struct {
	workflow string
	extra    float64
}

// phase is what running one side for a while cost.
type phase struct {
	cpu  float64 // CPU seconds of this process per counted incident
	rate float64 // counted incidents completed a second
	runs []client.WorkflowRun
}

// run runs n counted incidents of a side at the benchmark's concurrency,
// with its handicap's extra incidents among them, and measures what they
// cost: the CPU time the stack spent — this process (the driver and,
// unless they run apart, the API, the worker and the embedded Temporal
// server) and the parts running apart — per counted incident. CPU time is
// what a side's incidents take from the machine whatever else runs on it,
// so that the ratio of two sides' costs is the ratio of the incidents each
// could complete a second on a machine of their own. The count starts
// after a garbage collection, so that no earlier garbage falls on it, and
// ends once the stack is idle again and the phase's own garbage is
// collected, so that the work its incidents leave behind (the server
// closing their runs) falls on it.
func (b *runner) run(ctx context.Context, p *dsl.Process, hash string, s side, n int) (phase, error) {
	total := n + int(float64(n)*s.extra+0.5)
	var mu sync.Mutex
	var firstErr error
	var runs []client.WorkflowRun
	runtime.GC()
	cpu0, err := b.stackCPU()
	if err != nil {
		return phase{}, err
	}
	start := time.Now()
	forEach(ctx, total, b.o.Concurrency, time.Time{}, func(i int) {
		run, err := b.incident(ctx, s.workflow, p, hash)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			firstErr = cmpErr(firstErr, fmt.Errorf("%s: %w", s.workflow, err))
			return
		}
		runs = append(runs, run)
	})
	if firstErr != nil {
		return phase{}, firstErr
	}
	elapsed := time.Since(start)
	b.waitIdle(ctx, 10*time.Second)
	runtime.GC()
	cpu1, err := b.stackCPU()
	if err != nil {
		return phase{}, err
	}
	return phase{cpu: (cpu1 - cpu0).Seconds() / float64(n), rate: float64(n) / elapsed.Seconds(), runs: runs}, nil
}

// compare runs two sides one after the other, in the order given, and
// returns the first's throughput over the second's: the inverse ratio of
// their CPU costs.
func (b *runner) compare(ctx context.Context, p *dsl.Process, hash string, x, y side, swap bool) (float64, phase, phase, error) {
	first, second := x, y
	if swap {
		first, second = y, x
	}
	pf, err := b.run(ctx, p, hash, first, b.o.Batch)
	if err != nil {
		return 0, phase{}, phase{}, err
	}
	ps, err := b.run(ctx, p, hash, second, b.o.Batch)
	if err != nil {
		return 0, phase{}, phase{}, err
	}
	if swap {
		pf, ps = ps, pf
	}
	return ps.cpu / pf.cpu, pf, ps, nil
}

// overhead compares the interpreter with the hand-written baseline, round
// after round, each round running them one after the other (in turns, so
// that the machine's drift falls on both), and calibrates the comparison
// in every round: the baseline against itself handicapped with a known
// extra amount of work (the comparison must see its ratio move by it) and
// against itself as it is (it must see none). It also checks the counting
// of history events against a baseline padded with a known number.
func (b *runner) overhead(ctx context.Context) (*Overhead, error) {
	p := b.env.Catalog.Processes["bench"]
	src := b.env.Catalog.Sources["bench"]
	snapshot, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	if err := b.env.Store.SaveProcessVersion(ctx, store.ProcessVersion{Hash: src.Hash, Type: p.Type, File: src.File, YAML: string(src.YAML), Snapshot: snapshot}); err != nil {
		return nil, err
	}
	interp, base := side{workflow: workflows.WorkflowName}, side{workflow: BaselineName}
	slowed := side{workflow: BaselineName, extra: b.o.Handicap}
	o := &Overhead{Calibration: Calibration{Handicap: b.o.Handicap, Expected: 1 + b.o.Handicap, PaddingEvents: BaselinePadding},
		CPUCovers: append([]string{"this process"}, b.env.PartsCovered...)}
	if !b.env.Embedded {
		b.o.Log("  CPU time counted of: %s (the Temporal server's only if --watch names its processes)", strings.Join(o.CPUCovers, ", "))
	}
	// What earlier measurements left running (their incidents' last steps)
	// would fall on the first rounds' CPU time: wait for it to end.
	b.quiesce(ctx, 3*time.Minute)
	var runs [2][]client.WorkflowRun
	var cpu [2][]float64
	for round := range b.o.Rounds {
		if round > 0 {
			b.quiesce(ctx, 30*time.Second)
		}
		swap := round%2 == 1
		ratio, pi, pb, err := b.compare(ctx, p, src.Hash, interp, base, swap)
		if err != nil {
			return nil, err
		}
		o.Interpreter.Rates, o.Baseline.Rates = append(o.Interpreter.Rates, pi.rate), append(o.Baseline.Rates, pb.rate)
		cpu[0], cpu[1] = append(cpu[0], pi.cpu), append(cpu[1], pb.cpu)
		o.RoundRatios = append(o.RoundRatios, ratio)
		runs[0], runs[1] = append(runs[0], pi.runs...), append(runs[1], pb.runs...)
		handicapped, _, _, err := b.compare(ctx, p, src.Hash, base, slowed, !swap)
		if err != nil {
			return nil, err
		}
		o.Calibration.HandicapRatios = append(o.Calibration.HandicapRatios, handicapped)
		same, _, _, err := b.compare(ctx, p, src.Hash, base, base, swap)
		if err != nil {
			return nil, err
		}
		o.Calibration.SameRatios = append(o.Calibration.SameRatios, same)
		b.o.Log("  round %d: interpreter %.1f ms CPU an incident, baseline %.1f ms (%.2f); handicapped by %.0f%%: %.2f; against itself: %.2f",
			round+1, 1000*pi.cpu, 1000*pb.cpu, ratio, 100*b.o.Handicap, handicapped, same)
	}
	o.ThroughputRatio = median(o.RoundRatios)
	o.Interpreter.IncidentsPerSecond, o.Baseline.IncidentsPerSecond = median(o.Interpreter.Rates), median(o.Baseline.Rates)
	o.Interpreter.CPUPerIncident, o.Baseline.CPUPerIncident = median(cpu[0]), median(cpu[1])
	o.Calibration.Measured, o.Calibration.Same = median(o.Calibration.HandicapRatios), median(o.Calibration.SameRatios)

	// History events, counted on completed runs of each kind, and on runs
	// of the baseline padded with a known number of events.
	var padded []client.WorkflowRun
	for range eventSamples {
		run, err := b.incident(ctx, PaddedBaselineName, p, src.Hash)
		if err != nil {
			return nil, err
		}
		padded = append(padded, run)
	}
	for _, k := range []struct {
		out  *Kind
		runs []client.WorkflowRun
	}{{&o.Interpreter, runs[0]}, {&o.Baseline, runs[1]}, {&o.Calibration.padded, padded}} {
		if err := b.countEvents(ctx, k.out, k.runs); err != nil {
			return nil, err
		}
	}
	o.EventsRatio = float64(o.Interpreter.HistoryEvents) / float64(o.Baseline.HistoryEvents)
	b.o.Log("  history events: interpreter %d %v, baseline %d %v, padded baseline %d %v", o.Interpreter.HistoryEvents, o.Interpreter.HistoryEventsRange,
		o.Baseline.HistoryEvents, o.Baseline.HistoryEventsRange, o.Calibration.padded.HistoryEvents, o.Calibration.padded.HistoryEventsRange)
	o.Calibration.MeasuredPadding = o.Calibration.padded.WorkEvents - o.Baseline.WorkEvents
	if o.Replay, err = b.replayCost(ctx, runs[0], runs[1]); err != nil {
		return nil, err
	}
	r := o.Replay
	r.throughput(1000*o.Baseline.CPUPerIncident, o.Resolution())
	b.o.Log("  replayed: interpreter %.3f ms of CPU an incident, baseline %.3f ms (%.2f); replayed %.0f%% more: %.2f; again: %.2f; on a stack costing %.1f ms (±%.0f%%) an incident: %.3f ±%.3f",
		r.InterpreterMs, r.BaselineMs, r.Ratio, 100*r.Handicap, r.Handicapped, r.Same, r.StackMs, 100*r.StackResolution, r.Throughput, r.ThroughputResolution)
	return o, nil
}

// quietCPU is the stack's CPU use, in cores, below which it counts as idle.
const quietCPU = 0.05

// quiesce waits, up to limit, until no run is open and the stack's CPU is
// idle over a second, so that one phase's leftovers do not fall on the
// next's CPU time. It says what it waited for, and goes on at the limit.
func (b *runner) quiesce(ctx context.Context, limit time.Duration) {
	deadline := time.Now().Add(limit)
	open := int64(-1)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		resp, err := b.env.Temporal.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: "ExecutionStatus = 'Running'"})
		if err != nil {
			b.o.Log("  cannot count the open runs (%v): not waiting for them", err)
			break
		}
		if open = resp.GetCount(); open == 0 {
			break
		}
		time.Sleep(time.Second)
	}
	if !b.waitIdle(ctx, time.Until(deadline)) && ctx.Err() == nil {
		b.o.Log("  the stack was not idle after %s (%d runs open): measuring anyway", limit, open)
	}
}

// waitIdle waits, up to limit, until the stack's CPU use over a second is
// below quietCPU, and reports whether it was.
func (b *runner) waitIdle(ctx context.Context, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		c0, err := b.stackCPU()
		if err != nil {
			return false
		}
		time.Sleep(time.Second)
		c1, err := b.stackCPU()
		if err != nil {
			return false
		}
		if (c1 - c0).Seconds() < quietCPU {
			return true
		}
	}
	return false
}

// eventSamples is how many completed runs of each kind have their history counted.
const eventSamples = 9

// countEvents counts the history events of up to eventSamples of the runs:
// all of them, and those that are not workflow tasks' own, whose number
// depends on how the server batched the run's events into tasks.
func (b *runner) countEvents(ctx context.Context, k *Kind, runs []client.WorkflowRun) error {
	hs, err := b.histories(ctx, runs[:min(len(runs), eventSamples)])
	if err != nil {
		return err
	}
	var events, steps []int
	for _, h := range hs {
		n, tasks := len(h.Events), 0
		for _, e := range h.Events {
			switch e.GetEventType() {
			case enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED,
				enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT, enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED:
				tasks++
			}
		}
		events, steps = append(events, n), append(steps, n-tasks)
	}
	k.HistoryEvents = int(median(ints(events)))
	k.HistoryEventsRange = [2]int{slices.Min(events), slices.Max(events)}
	k.WorkEvents = int(median(ints(steps)))
	return nil
}

// incident runs one benchmark incident to its end with the named workflow,
// acting as the responders would, and returns its run.
func (b *runner) incident(ctx context.Context, workflowName string, p *dsl.Process, hash string) (client.WorkflowRun, error) {
	inc, _, err := b.env.Store.CreateIncident(ctx, incidentflow.Incident{Type: p.Type, Title: "Benchmark incident", Severity: "critical",
		Status: p.InitialStatus, ProcessHash: hash, DeclaredBy: "bench", DeclaredAt: time.Now().UTC()})
	if err != nil {
		return nil, err
	}
	in := workflows.Input{Incident: workflows.Declared{Ref: inc.Ref, Type: inc.Type, Title: inc.Title, Severity: inc.Severity, Status: inc.Status,
		DeclaredBy: inc.DeclaredBy, DeclaredAt: inc.DeclaredAt}, Process: *p, ProcessHash: hash, Calendar: b.env.Catalog.Directory.Calendar,
		Links: dsl.Links{Incident: b.env.APIURL + "/v1/incidents/" + inc.Ref}, Features: workflows.Features}
	run, err := b.env.Temporal.ExecuteWorkflow(ctx, workflows.StartOptions(in), workflowName, in)
	if err != nil {
		return nil, err
	}
	update := func(name string, arg any) error {
		h, err := b.env.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: run.GetID(), UpdateName: name,
			Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageCompleted})
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return h.Get(ctx, nil)
	}
	if err := b.env.Hook.Wait(ctx, inc.Ref, "page", time.Minute); err != nil {
		return nil, err
	}
	if err := update(workflows.UpdateAcknowledge, workflows.AcknowledgeInput{By: "alice"}); err != nil {
		return nil, err
	}
	if err := update(workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "resolved", By: "alice"}); err != nil {
		return nil, err
	}
	if err := b.env.Hook.Wait(ctx, inc.Ref, "review", time.Minute); err != nil {
		return nil, err
	}
	if err := update(workflows.UpdateReviewHeld, workflows.ReviewHeldInput{By: "alice"}); err != nil {
		return nil, err
	}
	return run, run.Get(ctx, nil)
}
