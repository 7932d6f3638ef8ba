//go:build record

package workflows_test

// Recording histories needs a real Temporal server, so it lives behind the
// record build tag: `make record-histories` regenerates testdata/*.json. Do it
// when a scenario is added or deliberately changed, never to make a failing
// replay pass: a replay failure means running incidents would break.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/incidentflow/incidentflow/activities"
	"github.com/incidentflow/incidentflow/channels"
	"github.com/incidentflow/incidentflow/devserver"
	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/processes"
	"github.com/incidentflow/incidentflow/worker"
	"github.com/incidentflow/incidentflow/workflows"
)

// scenario drives one built-in process through the life of an incident.
type scenario struct {
	process  string
	severity string
	fields   map[string]any
	// steps are updates sent in order, each after the previous completed.
	steps []update
}

type update struct {
	name string
	arg  any
}

var scenarios = []scenario{
	{process: "engineering", severity: "major", steps: []update{
		{workflows.UpdateAcknowledge, workflows.AcknowledgeInput{By: "alice"}},
		{workflows.UpdateAssignRole, workflows.AssignRoleInput{Role: "lead", Person: "alice"}},
		{workflows.UpdateSetSeverity, workflows.SetSeverityInput{Severity: "critical", By: "alice"}},
		{workflows.UpdateAcknowledge, workflows.AcknowledgeInput{By: "frank"}},
		{workflows.UpdateAddNote, workflows.AddNoteInput{Text: "rolled back", By: "alice"}},
		{workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "resolved", By: "alice"}},
		{workflows.UpdateRescheduleReview, workflows.RescheduleReviewInput{By: "alice", Start: time.Now().Add(96 * time.Hour).Truncate(time.Hour)}},
		{workflows.UpdateReviewHeld, workflows.ReviewHeldInput{By: "alice", WriteUp: "https://wiki.example.com/INC-1"}},
	}},
	{process: "security", severity: "critical", fields: map[string]any{"personal_data": true, "nis2_in_scope": true}, steps: []update{
		{workflows.UpdateAcknowledge, workflows.AcknowledgeInput{By: "carol"}},
		{workflows.UpdateSignal, workflows.SignalInput{Name: "contained", By: "carol"}},
		{workflows.UpdateSignal, workflows.SignalInput{Name: "materiality_determined", By: "cfo"}},
		{workflows.UpdateSignal, workflows.SignalInput{Name: "early_warning_submitted", By: "dan"}},
		{workflows.UpdateSignal, workflows.SignalInput{Name: "form_8k_filed", By: "cfo"}},
		{workflows.UpdateSignal, workflows.SignalInput{Name: "notification_submitted", By: "dan"}},
		{workflows.UpdateSignal, workflows.SignalInput{Name: "final_report_submitted", By: "dan"}},
		{workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "resolved", By: "carol"}},
		{workflows.UpdateReviewHeld, workflows.ReviewHeldInput{By: "carol", WriteUp: "https://wiki.example.com/INC-2"}},
	}},
	{process: "privacy", severity: "high", fields: map[string]any{"aware_at": "2026-11-26T08:00:00Z"}, steps: []update{
		{workflows.UpdateAssignRole, workflows.AssignRoleInput{Role: "dpo", Person: "dan"}},
		{workflows.UpdateSignal, workflows.SignalInput{Name: "risk_assessed", By: "dan"}},
		{workflows.UpdateApprove, workflows.ApproveInput{By: "dan"}},
		{workflows.UpdateSignal, workflows.SignalInput{Name: "regulator_notified", By: "dan"}},
		{workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "resolved", By: "dan"}},
		{workflows.UpdateReviewHeld, workflows.ReviewHeldInput{By: "dan", WriteUp: "https://wiki.example.com/INC-3"}},
	}},
	{process: "operational", severity: "major", fields: map[string]any{"customers_affected": 42, "area": "finance", "ai_act_serious_incident": "serious"}, steps: []update{
		{workflows.UpdateAcknowledge, workflows.AcknowledgeInput{By: "erin"}},
		{workflows.UpdateSignal, workflows.SignalInput{Name: "ai_act_report_submitted", By: "frank"}},
		{workflows.UpdateAssignRole, workflows.AssignRoleInput{Role: "owner", Person: "frank"}},
		{workflows.UpdateCompleteTask, workflows.CompleteTaskInput{Task: "INC-4-T1", By: "frank", Note: "refunds reversed"}},
		{workflows.UpdateApprove, workflows.ApproveInput{By: "erin"}},
		{workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "resolved", By: "erin"}},
		{workflows.UpdateReviewHeld, workflows.ReviewHeldInput{By: "frank", WriteUp: "https://wiki.example.com/INC-4"}},
	}},
}

func TestRecordHistories(t *testing.T) {
	ctx := context.Background()
	port, err := devserver.FreePort("127.0.0.1")
	require.NoError(t, err)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	attrs := map[string]enumspb.IndexedValueType{}
	for _, n := range workflows.SearchAttributeNames {
		attrs[n] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	}
	srv, err := devserver.Start(ctx, devserver.Options{FrontendAddr: addr, SearchAttributes: attrs})
	require.NoError(t, err)
	defer srv.Stop()
	cl, err := client.Dial(client.Options{HostPort: addr})
	require.NoError(t, err)
	defer cl.Close()

	cat, err := dsl.Load(processes.FS, "processes")
	require.NoError(t, err)
	sent := &recorder{}
	senders := map[string]channels.Sender{}
	for _, c := range cat.Directory.Channels {
		senders[c.ID] = sent
	}
	w := worker.New(cl, &activities.Activities{Store: newMemStore(), Directory: cat.Directory, Channels: senders})
	require.NoError(t, w.Start())
	defer w.Stop()

	for i, sc := range scenarios {
		t.Run(sc.process, func(t *testing.T) {
			p := cat.Processes[sc.process]
			fields, errs := p.CheckFields(sc.fields)
			require.Empty(t, errs)
			ref := fmt.Sprintf("INC-%d", i+1)
			in := workflows.Input{Incident: workflows.Declared{Ref: ref, Type: p.Type, Title: "Recorded " + p.Title, Severity: sc.severity,
				Status: p.InitialStatus, Fields: fields, DeclaredBy: "recorder", DeclaredAt: time.Now().UTC()},
				Process: *p, ProcessHash: cat.Sources[p.Type].Hash, Calendar: cat.Directory.Calendar,
				Links: dsl.Links{Incident: "http://127.0.0.1:8080/v1/incidents/" + ref}}
			run, err := cl.ExecuteWorkflow(ctx, workflows.StartOptions(in), workflows.WorkflowName, in)
			require.NoError(t, err)
			for _, u := range sc.steps {
				time.Sleep(300 * time.Millisecond) // let the process reach its next step, as a person would
				h, err := cl.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: run.GetID(), UpdateName: u.name,
					Args: []any{u.arg}, WaitForStage: client.WorkflowUpdateStageCompleted})
				require.NoError(t, err, u.name)
				require.NoError(t, h.Get(ctx, nil), u.name)
			}
			waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			require.NoError(t, run.Get(waitCtx, nil), "the scenario must end with the incident closed")

			var history historypb.History
			iter := cl.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
			for iter.HasNext() {
				e, err := iter.Next()
				require.NoError(t, err)
				history.Events = append(history.Events, e)
			}
			b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(&history)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join("testdata", sc.process+".json"), b, 0o644))
			t.Logf("%s: %d events", sc.process, len(history.Events))
		})
	}
}
