// Package worker builds the Temporal worker that runs incident workflows and
// their activities on the incidents task queue. It holds registrations and
// options only; the activities' dependencies are built in cmd/.
package worker

import (
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/incidentflow/incidentflow/activities"
	"github.com/incidentflow/incidentflow/workflows"
)

// New returns a worker for the incidents task queue with the incident workflow
// and acts registered. Start it; Stop drains it. When acts' store keeps
// runs' states (StateWriter), the runs of this process publish theirs to it.
// The first New of a process fixes its cache size (SetCacheSize).
func New(c client.Client, acts *activities.Activities) sdkworker.Worker {
	fixCacheSize()
	w := sdkworker.New(c, workflows.TaskQueue, sdkworker.Options{
		// Let running activities finish (or hand back) before a stop returns.
		WorkerStopTimeout: 10 * time.Second,
		// Pollers scale with the server's feedback, as Temporal recommends:
		// with the SDK's fixed two, a burst of declarations left a backlog
		// that drained long after it (BENCHMARKS.md, "The drain rate is the
		// pollers"). The SDK's defaults (from 5 pollers, between 1 and 100) fit.
		WorkflowTaskPollerBehavior: sdkworker.NewPollerBehaviorAutoscaling(sdkworker.PollerBehaviorAutoscalingOptions{}),
		ActivityTaskPollerBehavior: sdkworker.NewPollerBehaviorAutoscaling(sdkworker.PollerBehaviorAutoscalingOptions{}),
	})
	Register(w, acts)
	if sw, ok := acts.Store.(StateWriter); ok {
		st := newStates(sw, slog.Default())
		workflows.SetStateSink(st)
		return &withStates{Worker: w, states: st}
	}
	return w
}

// withStates is a worker whose runs publish their states.
type withStates struct {
	sdkworker.Worker
	states *states
}

// Stop drains the worker, then writes the states its runs published last.
func (w *withStates) Stop() {
	w.Worker.Stop()
	workflows.SetStateSink(nil)
	w.states.close()
}

// Registry is where workflows and activities are registered: a worker, or a
// test environment or replayer.
type Registry interface {
	RegisterWorkflowWithOptions(w any, options workflow.RegisterOptions)
	RegisterActivity(a any)
}

// Register adds the incident workflow and acts to r.
func Register(r Registry, acts *activities.Activities) {
	r.RegisterWorkflowWithOptions(workflows.IncidentWorkflow, workflow.RegisterOptions{Name: workflows.WorkflowName})
	r.RegisterActivity(acts)
}
