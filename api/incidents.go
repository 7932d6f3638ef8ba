package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/store"
	"github.com/incidentflow/incidentflow/workflows"
)

// incident loads the incident named by the :ref path parameter, if the
// request's principal may see it; a read of a restricted one is audited.
func (s *Server) incident(c *gin.Context) (incidentflow.Incident, error) {
	inc, err := s.Incident(c.Request.Context(), caller(c).Principal, c.Param("ref"))
	if err == nil && inc.Restricted {
		c.Set(auditedKey, true)
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

// queryBool reads a query parameter that is true or false (absent:
// false), naming it among details when it is neither.
func queryBool(c *gin.Context, name string, details *[]incidentflow.Detail) bool {
	switch c.Query(name) {
	case "", "false":
		return false
	case "true":
		return true
	}
	*details = append(*details, incidentflow.Detail{Field: name, Message: "must be true or false"})
	return false
}

// invalidQuery is the error for a list's query parameters, naming every problem.
func invalidQuery(details []incidentflow.Detail) error {
	return &incidentflow.Error{Code: incidentflow.EINVALID, Message: "invalid query: " + details[0].Field + " " + details[0].Message, Details: details}
}

// checkList names every filter of f that no incident could match: an
// unknown status, type or severity.
func (s *Server) checkList(f store.ListFilter) []incidentflow.Detail {
	var details []incidentflow.Detail
	if f.Status != "" && !dsl.IsStatus(f.Status) {
		details = append(details, incidentflow.Detail{Field: "status", Message: "must be one of " + strings.Join(dsl.Statuses, ", ")})
	}
	if f.Type != "" && s.cfg.Catalog.Processes[f.Type] == nil {
		details = append(details, incidentflow.Detail{Field: "type", Message: "must be one of " + strings.Join(s.cfg.Catalog.Types(), ", ")})
	}
	if f.Severity != "" {
		severities := s.Severities()
		if !slices.Contains(severities, f.Severity) {
			details = append(details, incidentflow.Detail{Field: "severity", Message: "must be one of " + strings.Join(severities, ", ")})
		}
	}
	if f.State != "" && f.State != "open" && f.State != "closed" {
		details = append(details, incidentflow.Detail{Field: "state", Message: "must be open or closed"})
	}
	if msg := incidentflow.CheckString(f.Query, true, maxQuery); msg != "" {
		details = append(details, incidentflow.Detail{Field: "q", Message: msg})
	}
	return details
}

// maxQuery bounds what a search of the incidents takes.
const maxQuery = 200

// Severities are the severities of every process, each once, in the
// order the processes list them.
func (s *Server) Severities() []string {
	var severities []string
	for _, t := range s.cfg.Catalog.Types() {
		for _, sev := range s.cfg.Catalog.Processes[t].Severities {
			if !slices.Contains(severities, sev) {
				severities = append(severities, sev)
			}
		}
	}
	return severities
}

func (s *Server) listIncidents(c *gin.Context) {
	f := store.ListFilter{Type: c.Query("type"), Status: c.Query("status"), Severity: c.Query("severity"), State: c.Query("state"),
		Query: strings.TrimSpace(c.Query("q"))}
	var details []incidentflow.Detail
	f.Limit = queryLimit(c, &details)
	if queryBool(c, "mine", &details) {
		f.Involved = caller(c).ID
	}
	if len(details) > 0 {
		s.fail(c, invalidQuery(details))
		return
	}
	list, next, err := s.List(c.Request.Context(), caller(c).Principal, f, c.Query("cursor"))
	if err != nil {
		s.fail(c, err)
		return
	}
	views := make([]incidentView, len(list))
	for i, inc := range list {
		views[i] = s.view(inc)
	}
	body := gin.H{"incidents": views, "next_cursor": nil}
	if next != "" {
		body["next_cursor"] = next
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
	var err error
	if f.Visibility, err = s.visibility(c.Request.Context(), caller(c).Principal); err != nil {
		s.fail(c, err)
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
	var details []incidentflow.Detail
	live := queryBool(c, "live", &details)
	if len(details) > 0 {
		s.fail(c, invalidQuery(details))
		return
	}
	var st *workflows.State
	if live {
		st, err = s.LiveState(c.Request.Context(), inc)
	} else {
		var at time.Time
		if st, at, err = s.State(c.Request.Context(), inc); !at.IsZero() {
			v.StateAt = &at
		}
	}
	if st != nil {
		v.State = &st.View // the run's bookkeeping is its own
	}
	switch incidentflow.ErrorCode(err) {
	case "":
	case incidentflow.EUNAVAILABLE:
		v.StateError = incidentflow.ErrorMessage(err)
	default:
		s.fail(c, err)
		return
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

func (s *Server) acknowledge(c *gin.Context) { s.act(c, &AcknowledgeRequest{}) }

func (s *Server) setStatus(c *gin.Context) { s.act(c, &StatusRequest{}) }

func (s *Server) setSeverity(c *gin.Context) { s.act(c, &SeverityRequest{}) }

func (s *Server) assignRole(c *gin.Context) { s.act(c, &RoleRequest{}) }

func (s *Server) addNote(c *gin.Context) { s.act(c, &NoteRequest{}) }

func (s *Server) approve(c *gin.Context) { s.act(c, &ApprovalRequest{}) }

// setFields changes fields of the incident.
func (s *Server) setFields(c *gin.Context) { s.act(c, &FieldsRequest{}) }

// reviewHeld marks the incident's post-incident review held, with a link to
// its write-up.
func (s *Server) reviewHeld(c *gin.Context) { s.act(c, &ReviewHeldRequest{}) }

// rescheduleReview moves the review; attendees get an update of the same
// calendar event.
func (s *Server) rescheduleReview(c *gin.Context) { s.act(c, &RescheduleRequest{}) }

func (s *Server) signal(c *gin.Context) { s.act(c, &SignalRequest{Name: c.Param("name")}) }

// act decodes an action from the request body and has the incident of the
// :ref path parameter carry it out, as the request's principal.
func (s *Server) act(c *gin.Context, a Action) {
	if err := decode(c, a); err != nil {
		s.fail(c, err)
		return
	}
	ctx, t := timed(c)
	st, err := s.Act(ctx, caller(c).Principal, c.Param("ref"), a, c.GetString(updateIDKey))
	t.header(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"ref": c.Param("ref"), "state": st.View})
}

// arrivedKey is where logRequests leaves the time a request arrived.
const arrivedKey = "incidentflow.arrived"

// updateTimes are when an action's request arrived, and when its update
// was sent, accepted by the run and completed, for its answer's
// Server-Timing header.
type updateTimes struct{ begun, sent, accepted, completed time.Time }

type updateTimesKey struct{}

// timed is the request's context, in which runUpdate notes its update's
// times, and those times, from the request's arrival.
func timed(c *gin.Context) (context.Context, *updateTimes) {
	t := &updateTimes{begun: c.GetTime(arrivedKey)}
	return context.WithValue(c.Request.Context(), updateTimesKey{}, t), t
}

// header says in Server-Timing (as browsers' developer tools show it) how
// long the action took before its update was sent (authenticating the
// request, reading it, finding the incident), for the run to accept it
// (retries of an update the run was not ready for included), and for the
// run to complete it. Only an action carried out has it.
func (t *updateTimes) header(c *gin.Context) {
	if t.begun.IsZero() || t.sent.IsZero() || t.completed.IsZero() {
		return
	}
	ms := func(from, to time.Time) float64 { return float64(to.Sub(from).Microseconds()) / 1000 }
	c.Header("Server-Timing", fmt.Sprintf("request;dur=%.1f, accept;dur=%.1f, complete;dur=%.1f",
		ms(t.begun, t.sent), ms(t.sent, t.accepted), ms(t.accepted, t.completed)))
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

// completeTask marks a follow-up done.
func (s *Server) completeTask(c *gin.Context) {
	var req CompleteTaskRequest
	if err := decode(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	ctx, t := timed(c)
	task, err := s.CompleteTask(ctx, caller(c).Principal, c.Param("id"), req, c.GetString(updateIDKey))
	t.header(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"ref": task.Ref, "task": task})
}

func field(name, msg string) error {
	return &incidentflow.Error{Code: incidentflow.EINVALID, Message: name + " " + msg, Details: []incidentflow.Detail{{Field: name, Message: msg}}}
}

// runUpdate sends the named Temporal Update to the incident's run and waits
// for its result, the run's state; an error says why it did not happen.
func (s *Server) runUpdate(ctx context.Context, inc incidentflow.Incident, name string, payload any, updateID string) (workflows.State, error) {
	var st workflows.State
	// Every attempt below is the same update: one the run carried out
	// before its answer was lost is answered from its result, not done
	// again (the SDK would give each attempt an ID of its own).
	keyed := updateID != ""
	if !keyed {
		updateID = uuid.NewString()
	}
	opts := client.UpdateWorkflowOptions{WorkflowID: inc.WorkflowID, UpdateName: name, Args: []any{payload},
		UpdateID: updateID, WaitForStage: client.WorkflowUpdateStageAccepted}
	uctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var err error
	times, _ := ctx.Value(updateTimesKey{}).(*updateTimes)
	if times != nil {
		times.sent = time.Now()
	}
	attempt := 1
	for ; ; attempt++ {
		var handle client.WorkflowUpdateHandle
		// The run holds a few updates at a time (Temporal's in-flight
		// limit); the SDK sends one over it again until it is admitted or
		// the wait is over, so a change waits its turn. One Temporal
		// admitted is waited for to the end: turned away while admitted,
		// it would still be carried out, and a retry without the same
		// Idempotency-Key done twice.
		handle, err = s.cfg.Temporal.UpdateWorkflow(uctx, opts)
		if err == nil {
			if times != nil {
				times.accepted = time.Now()
			}
			var res workflows.UpdateResult
			if err = handle.Get(uctx, &res); err == nil {
				if times != nil {
					times.completed = time.Now()
				}
				st = res.State
				s.settle(ctx, inc.Ref, res.Events())
			}
		}
		// The run's workflow task failed while it held the update (it
		// completed as updates arrived, say): the same update, sent again,
		// is taken by the task's retry, or answered by the run's end. A
		// deadline not this wait's own (a server's or a proxy's) passing
		// while Temporal may hold the update: the same, while the wait lasts.
		var notReady *serviceerror.WorkflowNotReady
		otherDeadline := timedOut(err) && uctx.Err() == nil
		if !(errors.As(err, &notReady) || otherDeadline) || attempt == updateAttempts || ctx.Err() != nil {
			break
		}
		time.Sleep(time.Duration(attempt) * 100 * time.Millisecond)
	}
	if err != nil {
		if refusedByRun(err) {
			s.withdraw(ctx, inc.Ref, updateID)
		}
		// Carried out by the run before this one (its answer was lost):
		// the answer is the incident as it stands.
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && appErr.Type() == workflows.RepeatedError {
			if now, lerr := s.LiveState(ctx, inc); lerr == nil {
				return *now, nil
			}
		}
		// After a first attempt Temporal may hold, any failure may be one
		// the run still carries out.
		return st, s.updateError(ctx, inc, err, keyed, attempt > 1)
	}
	return st, nil
}

// settle writes the events of an update as its answer gives them, over
// what a workflow task Temporal did not keep may have written (see
// workflows.UpdateResult). The change is made whatever becomes of this.
func (s *Server) settle(ctx context.Context, ref string, made []incidentflow.TimelineEvent) {
	if len(made) == 0 {
		return
	}
	if err := s.cfg.Store.SettleEvents(context.WithoutCancel(ctx), ref, made); err != nil {
		s.cfg.Logger.Warn("could not settle an update's timeline events", "incident", ref, "error", err)
	}
}

// withdraw removes from the timeline what a refused update seemed to do in
// a workflow task Temporal did not keep.
func (s *Server) withdraw(ctx context.Context, ref, updateID string) {
	if err := s.cfg.Store.WithdrawUpdate(context.WithoutCancel(ctx), ref, incidentflow.UpdateEventPrefix(ref, updateID)); err != nil {
		s.cfg.Logger.Warn("could not withdraw a refused update's timeline events", "incident", ref, "error", err)
	}
}

// refusedByRun says whether the run itself refused an update (its
// validator or handler), an answer Temporal gives only from a task it kept.
// An update refused as one carried out before (RepeatedError) is not: its
// events are the run's.
func refusedByRun(err error) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && (appErr.Type() == workflows.RefusedError || appErr.Type() == workflows.BusyError)
}

// updateAttempts is how often a change is sent when the run was not ready.
const updateAttempts = 5

// timedOut says whether an update's call ended at a deadline, the wait's
// own or one on the way (a server's, a proxy's): the SDK reports either as
// a WorkflowUpdateServiceTimeoutOrCanceledError around the gRPC status, not
// as context.DeadlineExceeded. Temporal may hold the update all the same.
func timedOut(err error) bool {
	var sdk *client.WorkflowUpdateServiceTimeoutOrCanceledError
	return errors.As(err, &sdk) || errors.Is(err, context.DeadlineExceeded)
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

// updateError explains why an update did not happen, or may not have: when
// Temporal may hold it yet (held is set, or the wait ran out), the answer
// says so, and how to send it again without doing it twice.
func (s *Server) updateError(ctx context.Context, inc incidentflow.Incident, err error, keyed, held bool) error {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && (appErr.Type() == workflows.RefusedError || appErr.Type() == workflows.RepeatedError) {
		return incidentflow.Errorf(incidentflow.ECONFLICT, "%s", appErr.Message())
	}
	if errors.As(err, &appErr) && appErr.Type() == workflows.BusyError {
		return incidentflow.Errorf(incidentflow.EBUSY, "%s", appErr.Message())
	}
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) || strings.Contains(err.Error(), "workflow execution already completed") {
		if fresh, ferr := s.cfg.Store.Incident(ctx, inc.Ref); ferr == nil && dsl.IsFinalStatus(fresh.Status) {
			return incidentflow.Errorf(incidentflow.ECONFLICT, "incident %s is %s", inc.Ref, fresh.Status)
		}
		return incidentflow.Errorf(incidentflow.ECONFLICT, "the run of incident %s has ended", inc.Ref)
	}
	if held || timedOut(err) {
		again := "send it again with the same Idempotency-Key to have it done once"
		if !keyed {
			again = "look at the incident's timeline before sending it again (a change sent with an Idempotency-Key can be sent again safely)"
		}
		why := "the incident's run did not take the change within 30s (is a worker running?)"
		if !timedOut(err) {
			why = "Temporal's answer was lost after it may have had the change"
		}
		return &incidentflow.Error{Code: incidentflow.EUNAVAILABLE, Message: why + "; it may still take it: " + again, Err: err}
	}
	again := "retry shortly with the same Idempotency-Key"
	if !keyed {
		again = "look at the incident's timeline before sending it again"
	}
	return &incidentflow.Error{Code: incidentflow.EUNAVAILABLE, Message: "Temporal could not deliver the update: " + again, Err: err}
}
