package workflows_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/incidentflow/incidentflow/workflows"
)

// TestReplayRecordedHistories replays the recorded run of each built-in
// process, each run of a chain that continued as new mid-escalation and
// mid-deadline, and a run whose task followed its role and whose approval
// reminded (testdata/*.json, made by `make record-histories`),
// against the interpreter as it is now, and the runs recorded by earlier
// versions (testdata/v*/), which stand for incidents still open from those
// days. A failure means a change would break incidents that are running:
// put the change behind workflow.GetVersion instead of re-recording.
func TestReplayRecordedHistories(t *testing.T) {
	current, err := filepath.Glob("testdata/*.json")
	require.NoError(t, err)
	continued, err := filepath.Glob("testdata/continued-*.json")
	require.NoError(t, err)
	require.Len(t, current, 4+1+len(continued), "one recorded history per built-in process and chase.json; run make record-histories")
	require.GreaterOrEqual(t, len(continued), 2, "the runs of a chain continued as new; run make record-histories")
	older, err := filepath.Glob("testdata/v*/*.json")
	require.NoError(t, err)
	for _, file := range append(current, older...) {
		name := strings.TrimSuffix(strings.TrimPrefix(file, "testdata/"), ".json")
		t.Run(name, func(t *testing.T) {
			replayer := sdkworker.NewWorkflowReplayer()
			replayer.RegisterWorkflowWithOptions(workflows.IncidentWorkflow, workflow.RegisterOptions{Name: workflows.WorkflowName})
			require.NoError(t, replayer.ReplayWorkflowHistoryFromJSONFile(nil, file))
		})
	}
}
