package api

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/workflows"
)

// Action is a change a principal asks of an incident. Its fields are what
// a request's body says; who acts is never among them: it is whoever the
// token, the session or the action link belongs to. The web app and action
// links send the same actions as the API.
type Action interface {
	// update checks the action against the process the incident runs and
	// returns the Update that carries it out as who.
	update(s *Server, who incidentflow.Principal, p *dsl.Process) (name string, in any, err error)
}

// AcknowledgeRequest is the body of POST /v1/incidents/{ref}/acknowledge.
type AcknowledgeRequest struct{}

// StatusRequest is the body of POST /v1/incidents/{ref}/status.
type StatusRequest struct {
	Status string `json:"status" limit:"line,100"`
	Note   string `json:"note" limit:"text,10000"`
}

// SeverityRequest is the body of POST /v1/incidents/{ref}/severity.
type SeverityRequest struct {
	Severity string `json:"severity" limit:"line,100"`
	Note     string `json:"note" limit:"text,10000"`
}

// RoleRequest is the body of POST /v1/incidents/{ref}/roles.
type RoleRequest struct {
	Role   string `json:"role" limit:"line,100"`
	Person string `json:"person" limit:"line,100"`
}

// NoteRequest is the body of POST /v1/incidents/{ref}/notes.
type NoteRequest struct {
	Text string `json:"text" limit:"text,10000"`
}

// ApprovalRequest is the body of POST /v1/incidents/{ref}/approvals: which
// approval, when several wait (by step name; empty: every one the principal
// may give), and a note.
type ApprovalRequest struct {
	Step string `json:"step" limit:"line,100"`
	Note string `json:"note" limit:"text,10000"`
	// Approvals, from an approve link, are the approvals (by number) it
	// was sent for: only those are given.
	Approvals []int `json:"-"`
}

// ReviewHeldRequest is the body of POST /v1/incidents/{ref}/review.
type ReviewHeldRequest struct {
	WriteUp string `json:"write_up" limit:"line,2000"`
	Note    string `json:"note" limit:"text,10000"`
	Step    string `json:"step" limit:"line,100"`
}

// RescheduleRequest is the body of POST /v1/incidents/{ref}/review/reschedule.
type RescheduleRequest struct {
	Start time.Time `json:"start"`
	Step  string    `json:"step" limit:"line,100"`
}

// SignalRequest is the body of POST /v1/incidents/{ref}/signals/{name};
// Name comes from the path.
type SignalRequest struct {
	Name    string         `json:"-"`
	Payload map[string]any `json:"payload" limit:"json,4096"`
}

// FieldsRequest is the body of PATCH /v1/incidents/{ref}/fields: the
// fields to change (a null value empties one) and why.
type FieldsRequest struct {
	Fields map[string]any `json:"fields" limit:"json,65536"`
	Note   string         `json:"note" limit:"text,10000"`
}

// CompleteTaskRequest is the body of POST /v1/tasks/{id}/complete.
type CompleteTaskRequest struct {
	Note string `json:"note" limit:"text,10000"`
}

func (AcknowledgeRequest) update(_ *Server, who incidentflow.Principal, _ *dsl.Process) (string, any, error) {
	return workflows.UpdateAcknowledge, workflows.AcknowledgeInput{By: who.String()}, nil
}

func (r StatusRequest) update(_ *Server, who incidentflow.Principal, _ *dsl.Process) (string, any, error) {
	if !dsl.IsStatus(r.Status) {
		return "", nil, &incidentflow.Error{Code: incidentflow.EINVALID,
			Message: "unknown status " + strconv.Quote(r.Status) + ": use one of " + strings.Join(dsl.Statuses, ", ") + dsl.DidYouMean(r.Status, dsl.Statuses),
			Details: []incidentflow.Detail{{Field: "status", Message: "unknown status"}}}
	}
	return workflows.UpdateSetStatus, workflows.SetStatusInput{Status: r.Status, By: who.String(), Note: r.Note}, nil
}

func (r SeverityRequest) update(_ *Server, who incidentflow.Principal, p *dsl.Process) (string, any, error) {
	if p.SeverityRank(r.Severity) < 0 {
		return "", nil, field("severity", fmt.Sprintf("must be one of %s, not %q%s", strings.Join(p.Severities, ", "), r.Severity, dsl.DidYouMean(r.Severity, p.Severities)))
	}
	return workflows.UpdateSetSeverity, workflows.SetSeverityInput{Severity: r.Severity, By: who.String(), Note: r.Note}, nil
}

func (r RoleRequest) update(s *Server, who incidentflow.Principal, p *dsl.Process) (string, any, error) {
	if !slices.Contains(p.Roles, r.Role) {
		return "", nil, field("role", fmt.Sprintf("must be one of %s, not %q%s", strings.Join(p.Roles, ", "), r.Role, dsl.DidYouMean(r.Role, p.Roles)))
	}
	dir := s.cfg.Catalog.Directory
	if _, ok := dir.Person(r.Person); !ok {
		return "", nil, field("person", fmt.Sprintf("%q is not in the directory%s", r.Person, dsl.DidYouMean(r.Person, dir.PersonIDs())))
	}
	// Whoever holds a role that approves must have been given it by
	// someone else: nobody approves their own say-so.
	if r.Person == who.ID && who.IsPerson() && p.RoleApproves(r.Role) {
		return "", nil, incidentflow.Errorf(incidentflow.EFORBIDDEN, "%s cannot give themselves the %s role: it approves, so someone else must assign it", who.Name, r.Role)
	}
	return workflows.UpdateAssignRole, workflows.AssignRoleInput{Role: r.Role, Person: r.Person, By: who.String()}, nil
}

func (r NoteRequest) update(_ *Server, who incidentflow.Principal, _ *dsl.Process) (string, any, error) {
	text := strings.TrimSpace(r.Text)
	if text == "" {
		return "", nil, field("text", "is required")
	}
	return workflows.UpdateAddNote, workflows.AddNoteInput{Text: text, By: who.String()}, nil
}

func (r FieldsRequest) update(_ *Server, who incidentflow.Principal, p *dsl.Process) (string, any, error) {
	if len(r.Fields) == 0 {
		return "", nil, field("fields", "is required: the fields to change, with their new values")
	}
	// Checked against the process's declarations here, so that a value of
	// the wrong type is 422 with each field's problem; the run checks it
	// again against the values it holds, and refuses a change of nothing.
	if _, _, errs := p.CheckFieldChange(nil, r.Fields); len(errs) > 0 {
		details := make([]incidentflow.Detail, len(errs))
		for i, e := range errs {
			details[i] = incidentflow.Detail{Field: strings.TrimSuffix("fields."+e.Field, "."), Message: e.Message}
		}
		return "", nil, invalid(details)
	}
	return workflows.UpdateSetFields, workflows.SetFieldsInput{Fields: r.Fields, By: who.String(), Note: r.Note}, nil
}

func (r ApprovalRequest) update(_ *Server, who incidentflow.Principal, _ *dsl.Process) (string, any, error) {
	if !who.IsPerson() {
		return "", nil, incidentflow.Errorf(incidentflow.EFORBIDDEN, "%s is a service: approvals are given by the person who holds the role", who)
	}
	return workflows.UpdateApprove, workflows.ApproveInput{By: who.ID, Step: r.Step, Note: r.Note, Seqs: r.Approvals}, nil
}

func (r ReviewHeldRequest) update(_ *Server, who incidentflow.Principal, _ *dsl.Process) (string, any, error) {
	if r.WriteUp != "" && !isWebLink(r.WriteUp) {
		return "", nil, field("write_up", "must be a link to the write-up: an http or https URL")
	}
	return workflows.UpdateReviewHeld, workflows.ReviewHeldInput{By: who.String(), WriteUp: r.WriteUp, Note: r.Note, Step: r.Step}, nil
}

func (r RescheduleRequest) update(s *Server, who incidentflow.Principal, _ *dsl.Process) (string, any, error) {
	now := s.cfg.Now()
	switch {
	case r.Start.IsZero():
		return "", nil, field("start", "is required: when the review now starts (RFC 3339)")
	case !r.Start.After(now):
		return "", nil, field("start", "must be in the future")
	case r.Start.After(now.Add(workflows.MaxReschedule)):
		return "", nil, field("start", "must be within a year")
	}
	return workflows.UpdateRescheduleReview, workflows.RescheduleReviewInput{Start: r.Start, By: who.String(), Step: r.Step}, nil
}

func (r SignalRequest) update(_ *Server, who incidentflow.Principal, p *dsl.Process) (string, any, error) {
	if !slices.Contains(p.Signals, r.Name) {
		return "", nil, field("name", fmt.Sprintf("%s incidents take no signal %q: their signals are %s%s",
			p.Type, r.Name, strings.Join(p.Signals, ", "), dsl.DidYouMean(r.Name, p.Signals)))
	}
	return workflows.UpdateSignal, workflows.SignalInput{Name: r.Name, By: who.String(), Payload: r.Payload}, nil
}

// Act has the incident ref carry out an action asked by who, and returns
// the run's state after it. The incident must be one who may see (else it
// does not exist); updateID, when given, makes the update happen once. A
// refusal by the run is ECONFLICT with its reason.
func (s *Server) Act(ctx context.Context, who incidentflow.Principal, ref string, a Action, updateID string) (workflows.State, error) {
	inc, err := s.Incident(ctx, who, ref)
	if err != nil {
		return workflows.State{}, err
	}
	p, err := s.process(ctx, inc)
	if err != nil {
		return workflows.State{}, err
	}
	name, in, err := a.update(s, who, p)
	if err != nil {
		return workflows.State{}, err
	}
	if inc.WorkflowStartedAt == nil {
		return workflows.State{}, incidentflow.Errorf(incidentflow.EUNAVAILABLE, "the run of %s has not started yet; retry shortly", inc.Ref)
	}
	return s.runUpdate(ctx, inc, name, in, updateID)
}

// Incident returns the incident ref if who may see it; to anyone else it
// does not exist (ENOTFOUND).
func (s *Server) Incident(ctx context.Context, who incidentflow.Principal, ref string) (incidentflow.Incident, error) {
	if !incidentflow.IsRef(ref) {
		return incidentflow.Incident{}, incidentflow.Errorf(incidentflow.ENOTFOUND, "no incident: that is not written as an incident reference (like INC-42)")
	}
	vis, err := s.visibility(ctx, who)
	if err != nil {
		return incidentflow.Incident{}, err
	}
	inc, err := s.cfg.Store.VisibleIncident(ctx, ref, vis)
	if incidentflow.ErrorCode(err) == incidentflow.ENOTFOUND {
		return inc, incidentflow.Errorf(incidentflow.ENOTFOUND, "no incident %s", ref)
	}
	return inc, err
}

// CompleteTask marks a follow-up done, as who: through the incident's run
// while it runs, in the store once the run has ended (follow-ups outlive
// incidents), once either way.
func (s *Server) CompleteTask(ctx context.Context, who incidentflow.Principal, id string, req CompleteTaskRequest, updateID string) (incidentflow.Task, error) {
	ref, _, ok := strings.Cut(id, "-T")
	if !incidentflow.IsTaskID(id) || !ok {
		return incidentflow.Task{}, incidentflow.Errorf(incidentflow.ENOTFOUND, "no task: that is not written as a task id (like INC-42-T1)")
	}
	inc, err := s.Incident(ctx, who, ref)
	if incidentflow.ErrorCode(err) == incidentflow.ENOTFOUND {
		return incidentflow.Task{}, incidentflow.Errorf(incidentflow.ENOTFOUND, "no task %s", id)
	}
	if err != nil {
		return incidentflow.Task{}, err
	}
	task, err := s.cfg.Store.Task(ctx, id)
	if err != nil {
		return task, err
	}
	live := !dsl.IsFinalStatus(inc.Status) && inc.WorkflowStartedAt != nil
	// A completion sent again under its key goes to the run even when the
	// task is done: it is the same update, and the run answers it as it
	// answered it first (the answer may have been lost on the way).
	if task.Status == "done" && !(live && updateID != "") {
		return task, incidentflow.Errorf(incidentflow.ECONFLICT, "task %s was already done by %s", id, task.DoneBy)
	}
	by := who.String()
	if live {
		st, err := s.runUpdate(ctx, inc, workflows.UpdateCompleteTask, workflows.CompleteTaskInput{Task: id, By: by, Note: req.Note}, updateID)
		if err != nil {
			return task, err
		}
		for _, t := range st.Tasks {
			if t.ID == id {
				return t, nil
			}
		}
		return task, nil
	}
	now := s.cfg.Now().UTC()
	task.Status, task.DoneBy, task.DoneAt, task.Note = "done", by, &now, req.Note
	msg := fmt.Sprintf("Follow-up %s done by %s: %s", id, by, task.Title)
	return task, s.cfg.Store.CompleteTask(ctx, task, incidentflow.TimelineEvent{At: now, Kind: "task_done", Step: task.Step, Actor: by,
		Message: msg, DedupKey: "task/" + id + "/done"})
}

func isWebLink(s string) bool {
	return incidentflow.IsWebURL(s) && len(s) <= incidentflow.MaxLink
}
