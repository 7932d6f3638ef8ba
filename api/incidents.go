package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/store"
	"github.com/incidentflow/incidentflow/workflows"
)

var refPattern = regexp.MustCompile(`^INC-[1-9][0-9]{0,17}$`)

// incident loads the incident named by the :ref path parameter.
func (s *Server) incident(c *gin.Context) (incidentflow.Incident, error) {
	ref := c.Param("ref")
	if !refPattern.MatchString(ref) {
		return incidentflow.Incident{}, incidentflow.Errorf(incidentflow.ENOTFOUND, "%q is not an incident reference (like INC-42)", ref)
	}
	inc, err := s.cfg.Store.Incident(c.Request.Context(), ref)
	if incidentflow.ErrorCode(err) == incidentflow.ENOTFOUND {
		return inc, incidentflow.Errorf(incidentflow.ENOTFOUND, "no incident %s", ref)
	}
	return inc, err
}

// queryLimit reads the ?limit= of a list (0 when absent), adding a detail
// when it is not a whole number from 1 to 500.
func queryLimit(c *gin.Context, details *[]incidentflow.Detail) int {
	v := c.Query("limit")
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 500 {
		*details = append(*details, incidentflow.Detail{Field: "limit", Message: "must be a whole number from 1 to 500"})
	}
	return n
}

// invalidQuery is the error for a list's query parameters, naming every problem.
func invalidQuery(details []incidentflow.Detail) error {
	return &incidentflow.Error{Code: incidentflow.EINVALID, Message: "invalid query: " + details[0].Field + " " + details[0].Message, Details: details}
}

func (s *Server) listIncidents(c *gin.Context) {
	f := store.ListFilter{Type: c.Query("type"), Status: c.Query("status"), Severity: c.Query("severity")}
	var details []incidentflow.Detail
	if f.Status != "" && !dsl.IsStatus(f.Status) {
		details = append(details, incidentflow.Detail{Field: "status", Message: "must be one of " + strings.Join(dsl.Statuses, ", ")})
	}
	if f.Type != "" && s.cfg.Catalog.Processes[f.Type] == nil {
		details = append(details, incidentflow.Detail{Field: "type", Message: "must be one of " + strings.Join(s.cfg.Catalog.Types(), ", ")})
	}
	if f.Severity != "" {
		var severities []string
		for _, t := range s.cfg.Catalog.Types() {
			for _, sev := range s.cfg.Catalog.Processes[t].Severities {
				if !slices.Contains(severities, sev) {
					severities = append(severities, sev)
				}
			}
		}
		if !slices.Contains(severities, f.Severity) {
			details = append(details, incidentflow.Detail{Field: "severity", Message: "must be one of " + strings.Join(severities, ", ")})
		}
	}
	f.Limit = queryLimit(c, &details)
	if v := c.Query("cursor"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			details = append(details, incidentflow.Detail{Field: "cursor", Message: "must be the next_cursor of a previous page"})
		}
		f.After = n
	}
	if len(details) > 0 {
		s.fail(c, invalidQuery(details))
		return
	}
	if f.Limit == 0 {
		f.Limit = 50
	}
	list, err := s.cfg.Store.ListIncidents(c.Request.Context(), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	views := make([]incidentView, len(list))
	for i, inc := range list {
		views[i] = s.view(inc)
	}
	body := gin.H{"incidents": views, "next_cursor": nil}
	if len(list) == f.Limit {
		body["next_cursor"] = strconv.FormatInt(list[len(list)-1].Number, 10)
	}
	c.JSON(http.StatusOK, body)
}

// listDeadlines lists clocks across incidents, soonest due first: by default
// the open and missed ones, so a DPO sees what falls due this week with
// ?before=2026-12-04T00:00:00Z.
func (s *Server) listDeadlines(c *gin.Context) {
	f := store.DeadlineFilter{Statuses: []string{"open", "missed"}}
	var details []incidentflow.Detail
	if v := c.Query("before"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			details = append(details, incidentflow.Detail{Field: "before", Message: "must be a time written in RFC 3339, like 2026-12-04T00:00:00Z"})
		}
		f.DueBefore = t
	}
	if v := c.Query("status"); v == "all" {
		f.Statuses = nil
	} else if v != "" {
		f.Statuses = strings.Split(v, ",")
		for _, st := range f.Statuses {
			if !slices.Contains([]string{"open", "met", "missed", "met_late", "abandoned"}, st) {
				details = append(details, incidentflow.Detail{Field: "status", Message: "must be all, or open, met, missed, met_late or abandoned, comma-separated"})
				break
			}
		}
	}
	f.Limit = queryLimit(c, &details)
	if len(details) > 0 {
		s.fail(c, invalidQuery(details))
		return
	}
	list, err := s.cfg.Store.Deadlines(c.Request.Context(), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"deadlines": list})
}

func (s *Server) getIncident(c *gin.Context) {
	inc, err := s.incident(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	v := s.view(inc)
	ctx, cancel := context.WithTimeout(c.Request.Context(), 5*time.Second)
	defer cancel()
	if inc.WorkflowStartedAt == nil {
		v.StateError = "the incident's run has not started yet"
	} else if val, err := s.cfg.Temporal.QueryWorkflow(ctx, inc.WorkflowID, "", workflows.QueryState); err != nil {
		s.cfg.Logger.Warn("state query failed", "incident", inc.Ref, "error", err)
		v.StateError = "the live state is unavailable right now (no worker answered)"
	} else {
		var st workflows.State
		if err := val.Get(&st); err != nil {
			s.fail(c, err)
			return
		}
		v.State = &st
	}
	c.JSON(http.StatusOK, v)
}

func (s *Server) timeline(c *gin.Context) {
	inc, err := s.incident(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	events, err := s.cfg.Store.Timeline(c.Request.Context(), inc.Ref)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"ref": inc.Ref, "events": events})
}

func (s *Server) acknowledge(c *gin.Context) {
	var in workflows.AcknowledgeInput
	s.update(c, workflows.UpdateAcknowledge, &in, func(*dsl.Process) error {
		in.By = strings.TrimSpace(in.By)
		if in.By == "" {
			return field("by", "is required: who acknowledges")
		}
		return nil
	})
}

func (s *Server) setStatus(c *gin.Context) {
	var in workflows.SetStatusInput
	s.update(c, workflows.UpdateSetStatus, &in, func(*dsl.Process) error {
		if !dsl.IsStatus(in.Status) {
			return &incidentflow.Error{Code: incidentflow.EINVALID,
				Message: "unknown status " + strconv.Quote(in.Status) + ": use one of " + strings.Join(dsl.Statuses, ", ") + dsl.DidYouMean(in.Status, dsl.Statuses),
				Details: []incidentflow.Detail{{Field: "status", Message: "unknown status"}}}
		}
		return nil
	})
}

func (s *Server) setSeverity(c *gin.Context) {
	var in workflows.SetSeverityInput
	s.update(c, workflows.UpdateSetSeverity, &in, func(p *dsl.Process) error {
		if p.SeverityRank(in.Severity) < 0 {
			return field("severity", fmt.Sprintf("must be one of %s, not %q%s", strings.Join(p.Severities, ", "), in.Severity, dsl.DidYouMean(in.Severity, p.Severities)))
		}
		return nil
	})
}

func (s *Server) assignRole(c *gin.Context) {
	var in workflows.AssignRoleInput
	s.update(c, workflows.UpdateAssignRole, &in, func(p *dsl.Process) error {
		if !slices.Contains(p.Roles, in.Role) {
			return field("role", fmt.Sprintf("must be one of %s, not %q%s", strings.Join(p.Roles, ", "), in.Role, dsl.DidYouMean(in.Role, p.Roles)))
		}
		people := make([]string, len(s.cfg.Catalog.Directory.People))
		for i, person := range s.cfg.Catalog.Directory.People {
			people[i] = person.ID
		}
		if _, ok := s.cfg.Catalog.Directory.Person(in.Person); !ok {
			return field("person", fmt.Sprintf("%q is not in the directory%s", in.Person, dsl.DidYouMean(in.Person, people)))
		}
		return nil
	})
}

func (s *Server) addNote(c *gin.Context) {
	var in workflows.AddNoteInput
	s.update(c, workflows.UpdateAddNote, &in, func(*dsl.Process) error {
		in.Text = strings.TrimSpace(in.Text)
		if in.Text == "" {
			return field("text", "is required")
		}
		return nil
	})
}

func (s *Server) approve(c *gin.Context) {
	var in workflows.ApproveInput
	s.update(c, workflows.UpdateApprove, &in, func(*dsl.Process) error {
		in.By = strings.TrimSpace(in.By)
		if in.By == "" {
			return field("by", "is required: who approves")
		}
		return nil
	})
}

// reviewHeld marks the incident's post-incident review held, with a link to
// its write-up.
func (s *Server) reviewHeld(c *gin.Context) {
	var in workflows.ReviewHeldInput
	s.update(c, workflows.UpdateReviewHeld, &in, func(*dsl.Process) error {
		in.By = strings.TrimSpace(in.By)
		switch {
		case in.By == "":
			return field("by", "is required: who marks the review held")
		case in.WriteUp != "" && !isWebLink(in.WriteUp):
			return field("write_up", "must be a link to the write-up: an http or https URL")
		}
		return nil
	})
}

// rescheduleReview moves the review; attendees get an update of the same
// calendar event.
func (s *Server) rescheduleReview(c *gin.Context) {
	var in workflows.RescheduleReviewInput
	s.update(c, workflows.UpdateRescheduleReview, &in, func(*dsl.Process) error {
		in.By = strings.TrimSpace(in.By)
		switch {
		case in.By == "":
			return field("by", "is required: who moves the review")
		case in.Start.IsZero():
			return field("start", "is required: when the review now starts (RFC 3339)")
		case !in.Start.After(time.Now()):
			return field("start", "must be in the future")
		case in.Start.After(time.Now().Add(workflows.MaxReschedule)):
			return field("start", "must be within a year")
		}
		return nil
	})
}

func isWebLink(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && len(s) <= 2000
}

func (s *Server) listTasks(c *gin.Context) {
	inc, err := s.incident(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	tasks, err := s.cfg.Store.Tasks(c.Request.Context(), inc.Ref)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"ref": inc.Ref, "tasks": tasks})
}

var taskPattern = regexp.MustCompile(`^INC-[1-9][0-9]{0,17}-T[1-9][0-9]{0,8}$`)

// completeTask marks a follow-up done: through the incident's run while it
// runs, in the store once the run has ended (follow-ups outlive incidents).
func (s *Server) completeTask(c *gin.Context) {
	id := c.Param("id")
	if !taskPattern.MatchString(id) {
		s.fail(c, incidentflow.Errorf(incidentflow.ENOTFOUND, "%q is not a task id (like INC-42-T1)", id))
		return
	}
	ctx := c.Request.Context()
	task, err := s.cfg.Store.Task(ctx, id)
	if err != nil {
		s.fail(c, err)
		return
	}
	inc, err := s.cfg.Store.Incident(ctx, task.Ref)
	if err != nil {
		s.fail(c, err)
		return
	}
	in := workflows.CompleteTaskInput{Task: id}
	var req struct {
		By   string `json:"by" limit:"line,100"`
		Note string `json:"note" limit:"text,10000"`
	}
	check := func(*dsl.Process) error {
		in.By, in.Note = strings.TrimSpace(req.By), req.Note
		switch {
		case in.By == "":
			return field("by", "is required: who completed it")
		case task.Status == "done":
			return incidentflow.Errorf(incidentflow.ECONFLICT, "task %s was already done by %s", id, task.DoneBy)
		}
		return nil
	}
	if !dsl.IsFinalStatus(inc.Status) {
		s.send(c, inc, workflows.UpdateCompleteTask, &req, check, &in)
		return
	}
	if err := decode(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	if err := check(nil); err != nil {
		s.fail(c, err)
		return
	}
	now := s.cfg.Now().UTC()
	task.Status, task.DoneBy, task.DoneAt, task.Note = "done", in.By, &now, in.Note
	msg := fmt.Sprintf("Follow-up %s done by %s: %s", id, in.By, task.Title)
	if err := s.cfg.Store.CompleteTask(ctx, task, incidentflow.TimelineEvent{At: now, Kind: "task_done", Step: task.Step, Actor: in.By,
		Message: msg, DedupKey: "task/" + id + "/done"}); err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"ref": inc.Ref, "task": task})
}

// SignalRequest is the body of POST /v1/incidents/{ref}/signals/{name}.
type SignalRequest struct {
	By      string         `json:"by" limit:"line,100"`
	Payload map[string]any `json:"payload" limit:"json,4096"`
}

func (s *Server) signal(c *gin.Context) {
	var req SignalRequest
	in := workflows.SignalInput{Name: c.Param("name")}
	s.update(c, workflows.UpdateSignal, &req, func(p *dsl.Process) error {
		if !slices.Contains(p.Signals, in.Name) {
			return field("name", fmt.Sprintf("%s incidents take no signal %q: their signals are %s%s",
				p.Type, in.Name, strings.Join(p.Signals, ", "), dsl.DidYouMean(in.Name, p.Signals)))
		}
		in.By, in.Payload = req.By, req.Payload
		return nil
	}, &in)
}

func field(name, msg string) error {
	return &incidentflow.Error{Code: incidentflow.EINVALID, Message: name + " " + msg, Details: []incidentflow.Detail{{Field: name, Message: msg}}}
}

// update decodes body, checks it against the process the incident runs, and
// sends it (or arg, when given) to the incident's run as the named Temporal
// Update, answering with the run's state. A refusal by the run is a 409 with
// its reason.
func (s *Server) update(c *gin.Context, name string, body any, check func(*dsl.Process) error, arg ...any) {
	inc, err := s.incident(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.send(c, inc, name, body, check, arg...)
}

// send is update for an incident already found.
func (s *Server) send(c *gin.Context, inc incidentflow.Incident, name string, body any, check func(*dsl.Process) error, arg ...any) {
	if err := decode(c, body); err != nil {
		s.fail(c, err)
		return
	}
	p, err := s.process(c.Request.Context(), inc)
	if err != nil {
		s.fail(c, err)
		return
	}
	if err := check(p); err != nil {
		s.fail(c, err)
		return
	}
	if inc.WorkflowStartedAt == nil {
		s.fail(c, incidentflow.Errorf(incidentflow.EUNAVAILABLE, "the run of %s has not started yet; retry shortly", inc.Ref))
		return
	}
	payload := body
	if len(arg) > 0 {
		payload = arg[0]
	}
	st, err := s.runUpdate(c.Request.Context(), inc, name, payload, c.GetString(updateIDKey))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"ref": inc.Ref, "state": st})
}

// runUpdate sends the named Temporal Update to the incident's run and waits
// for its result, the run's state; an error says why it did not happen.
func (s *Server) runUpdate(ctx context.Context, inc incidentflow.Incident, name string, payload any, updateID string) (workflows.State, error) {
	var st workflows.State
	uctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	opts := client.UpdateWorkflowOptions{WorkflowID: inc.WorkflowID, UpdateName: name, Args: []any{payload},
		UpdateID: updateID, WaitForStage: client.WorkflowUpdateStageCompleted}
	handle, err := s.cfg.Temporal.UpdateWorkflow(uctx, opts)
	if err == nil {
		err = handle.Get(uctx, &st)
	}
	if err != nil {
		return st, s.updateError(ctx, inc, err)
	}
	return st, nil
}

// process returns the process version an incident runs.
func (s *Server) process(ctx context.Context, inc incidentflow.Incident) (*dsl.Process, error) {
	pv, err := s.cfg.Store.ProcessVersion(ctx, inc.ProcessHash)
	if err != nil {
		return nil, err
	}
	var p dsl.Process
	if err := json.Unmarshal(pv.Snapshot, &p); err != nil {
		return nil, fmt.Errorf("decode process version %s: %w", pv.Hash, err)
	}
	return &p, nil
}

// updateError explains why an update did not happen.
func (s *Server) updateError(ctx context.Context, inc incidentflow.Incident, err error) error {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.Type() == workflows.RefusedError {
		return incidentflow.Errorf(incidentflow.ECONFLICT, "%s", appErr.Message())
	}
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) || strings.Contains(err.Error(), "workflow execution already completed") {
		if fresh, ferr := s.cfg.Store.Incident(ctx, inc.Ref); ferr == nil && dsl.IsFinalStatus(fresh.Status) {
			return incidentflow.Errorf(incidentflow.ECONFLICT, "incident %s is %s", inc.Ref, fresh.Status)
		}
		return incidentflow.Errorf(incidentflow.ECONFLICT, "the run of incident %s has ended", inc.Ref)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &incidentflow.Error{Code: incidentflow.EUNAVAILABLE, Message: "the incident's run did not answer within 30s: is a worker running?", Err: err}
	}
	return &incidentflow.Error{Code: incidentflow.EUNAVAILABLE, Message: "Temporal could not deliver the update; retry shortly", Err: err}
}
