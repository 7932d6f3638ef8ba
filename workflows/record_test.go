//go:build record

package workflows_test

// Recording histories needs a real Temporal server, so it lives behind the
// record build tag: `make record-histories` regenerates testdata/*.json. Do it
// when a scenario is added or deliberately changed, never to make a failing
// replay pass: a replay failure means running incidents would break.

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
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

// scenario drives one process through the life of an incident: a
// built-in one, or one of extraProcesses.
type scenario struct {
	process  string
	severity string
	fields   map[string]any
	// steps are updates sent in order, each after the previous completed.
	steps []update
	// waits are how long to wait before each step (300 ms when not given).
	waits []time.Duration
	// historyLimit, when set, makes the run continue as new that early:
	// every run of the chain is recorded, as PROCESS-N.json.
	historyLimit int
}

type update struct {
	name string
	arg  any
}

// extraProcesses are recorded beside the built-in ones for the paths they
// do not take: a run continued as new mid-escalation and mid-deadline, a
// field set by the process, a review rescheduled then cancelled by the
// close, and a close with a clock still running; a task that follows its
// role to two holders in turn, and an approval that reminds. quickPolicy is the
// escalation policy they page, in seconds rather than minutes.
var extraProcesses = map[string]string{"continued.yaml": `process: continued
title: Continued
severities: [major]
fields:
  customers: {type: int, default: 0}
roles: [lead]
steps:
  - set: {roles: {lead: alice}}
  - name: Clock
    background: true
    deadline: {title: Report, within: 1h, from: declared, remind_before: [59m], notify: [role:lead]}
  - notify: {to: [role:lead], message: "declared: {{ .Incident.Ref }}"}
  - notify: {to: [role:lead], message: "the clock runs: {{ .Incident.Ref }}"}
  - id: page
    page: {policy: quick, message: "page {{ .Incident.Ref }}"}
  - set: {fields: {customers: 5}}
  - name: Review
    review: {within: 5 business days, attendees: [role:lead]}
  - wait: {for: status == "closed"}
`, "chase.yaml": `process: chase
title: Chase
severities: [major]
roles: [lead, approver]
steps:
  - set: {roles: {approver: bob}}
  - name: Write-up
    task: {owner: role:lead, title: "Write it up"}
  - name: Sign-off
    approval: {role: approver, timeout: 1h, remind_every: 5m}
  - wait: {for: status == "closed"}
`}

const quickPolicy = `policies:
  - id: quick
    levels:
      - {targets: [person:alice], ack_within: 2s}
      - {targets: [person:bob], ack_within: 3s}
`

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
	{process: "continued", severity: "major", historyLimit: 30, waits: []time.Duration{3 * time.Second, time.Second}, steps: []update{
		{workflows.UpdateAcknowledge, workflows.AcknowledgeInput{By: "bob"}}, // at level 2
		{workflows.UpdateRescheduleReview, workflows.RescheduleReviewInput{By: "alice", Start: time.Now().Add(120 * time.Hour).Truncate(time.Hour)}},
		{workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "closed", By: "alice"}}, // the review cancelled, the clock abandoned
	}},
	{process: "chase", severity: "major", waits: []time.Duration{300 * time.Millisecond, 2500 * time.Millisecond}, steps: []update{
		{workflows.UpdateAssignRole, workflows.AssignRoleInput{Role: "lead", Person: "alice", By: "carol"}}, // the write-up is alice's
		{workflows.UpdateApprove, workflows.ApproveInput{By: "bob"}},                                        // after two reminders
		{workflows.UpdateAssignRole, workflows.AssignRoleInput{Role: "lead", Person: "carol", By: "alice"}}, // and now carol's
		{workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "closed", By: "carol"}},
	}},
}

func TestRecordHistories(t *testing.T) {
	ctx := context.Background()
	port, err := devserver.FreePort("127.0.0.1")
	require.NoError(t, err)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	attrs := workflows.SearchAttributeTypes()
	srv, err := devserver.Start(ctx, devserver.Options{FrontendAddr: addr, SearchAttributes: attrs})
	require.NoError(t, err)
	defer srv.Stop()
	cl, err := client.Dial(client.Options{HostPort: addr})
	require.NoError(t, err)
	defer cl.Close()

	cat := recordedCatalog(t)
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
				Links: dsl.Links{Incident: "http://127.0.0.1:8080/v1/incidents/" + ref}, HistoryLimit: sc.historyLimit, Features: workflows.Features}
			run, err := cl.ExecuteWorkflow(ctx, workflows.StartOptions(in), workflows.WorkflowName, in)
			require.NoError(t, err)
			for i, u := range sc.steps {
				// Let the process reach its next step, as a person would.
				wait := 300 * time.Millisecond
				if i < len(sc.waits) {
					wait = sc.waits[i]
				}
				time.Sleep(wait)
				h, err := cl.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: run.GetID(), UpdateName: u.name,
					Args: []any{u.arg}, WaitForStage: client.WorkflowUpdateStageCompleted})
				require.NoError(t, err, u.name)
				require.NoError(t, h.Get(ctx, nil), u.name)
			}
			waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			require.NoError(t, run.Get(waitCtx, nil), "the scenario must end with the incident closed")

			// The chain of runs, from the last back to the first.
			var chain []*historypb.History
			for runID := ""; ; {
				var history historypb.History
				iter := cl.GetWorkflowHistory(ctx, run.GetID(), runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
				for iter.HasNext() {
					e, err := iter.Next()
					require.NoError(t, err)
					history.Events = append(history.Events, e)
				}
				chain = append([]*historypb.History{&history}, chain...)
				runID = history.Events[0].GetWorkflowExecutionStartedEventAttributes().GetContinuedExecutionRunId()
				if runID == "" {
					break
				}
			}
			if sc.historyLimit > 0 {
				require.Greater(t, len(chain), 1, "%s continued as new", sc.process)
			}
			for n, history := range chain {
				name := sc.process
				if sc.historyLimit > 0 {
					name = fmt.Sprintf("%s-%d", sc.process, n+1)
				}
				b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(history)
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(filepath.Join("testdata", name+".json"), b, 0o644))
				t.Logf("%s: %d events", name, len(history.Events))
			}
		})
	}
}

// recordedCatalog is the built-in processes and directory, with
// extraProcesses and quickPolicy beside them.
func recordedCatalog(t *testing.T) *dsl.Catalog {
	t.Helper()
	files := fstest.MapFS{}
	require.NoError(t, fs.WalkDir(processes.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(processes.FS, path)
		if path == dsl.DirectoryFile {
			b = []byte(strings.Replace(string(b), "policies:\n", quickPolicy, 1))
		}
		files[path] = &fstest.MapFile{Data: b}
		return err
	}))
	for name, src := range extraProcesses {
		files[name] = &fstest.MapFile{Data: []byte(src)}
	}
	cat, err := dsl.Load(files, "processes")
	require.NoError(t, err)
	// Authors remind every 5 minutes at the most often; the recording, on
	// the wall clock, reminds every second to see reminders in seconds.
	dsl.WalkProcess(cat.Processes["chase"], func(s *dsl.Step) {
		if s.Approval != nil && s.Approval.RemindEvery != nil {
			s.Approval.RemindEvery = &dsl.Duration{Fixed: time.Second}
		}
	})
	return cat
}
