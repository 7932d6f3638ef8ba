package api

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/store"
	"github.com/incidentflow/incidentflow/workflows"
)

// This file holds the reads the web app makes, as a principal, with the
// same permissions and visibility as the routes: what a page shows is
// what the API would answer the same person.

// allow refuses a principal whose role lacks the permission.
func allow(who incidentflow.Principal, perm string) error {
	if !who.Allows(perm) {
		return forbidden(who, perm)
	}
	return nil
}

// Catalog is the processes and the directory in force.
func (s *Server) Catalog() *dsl.Catalog { return s.cfg.Catalog }

// Now is the API's clock.
func (s *Server) Now() time.Time { return s.cfg.Now() }

// RunURL is the address of an incident's run in the Temporal UI.
func (s *Server) RunURL(inc incidentflow.Incident) string { return s.uiURL(inc.WorkflowID) }

// List returns the incidents matching f that who may see, newest first,
// from after the cursor (the ref of the previous page's last incident;
// "" for the first page), and the cursor of the next page ("" when this
// is the last). A filter naming an unknown type, status or severity, or a
// cursor who may not see, is EINVALID; f.Involved is who's, if anyone's.
func (s *Server) List(ctx context.Context, who incidentflow.Principal, f store.ListFilter, cursor string) ([]incidentflow.Incident, string, error) {
	if err := allow(who, incidentflow.PermRead); err != nil {
		return nil, "", err
	}
	details := s.checkList(f)
	if f.Involved != "" && (!who.IsPerson() || f.Involved != who.ID) {
		details = append(details, incidentflow.Detail{Field: "mine", Message: "is for people: " + who.String() + " is a service"})
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	var err error
	if f.Visibility, err = s.visibility(ctx, who); err != nil {
		return nil, "", err
	}
	if cursor != "" {
		// The cursor is a ref, not a number, which would count the
		// restricted incidents; one who may not see is none.
		var last incidentflow.Incident
		if incidentflow.IsRef(cursor) {
			last, err = s.cfg.Store.VisibleIncident(ctx, cursor, f.Visibility)
			if err != nil && incidentflow.ErrorCode(err) != incidentflow.ENOTFOUND {
				return nil, "", err
			}
		}
		if last.Ref == "" {
			details = append(details, incidentflow.Detail{Field: "cursor", Message: "must be the next_cursor of a previous page"})
		}
		f.After = last.Number
	}
	if len(details) > 0 {
		return nil, "", invalidQuery(details)
	}
	list, err := s.cfg.Store.ListIncidents(ctx, f)
	if err != nil || len(list) < f.Limit {
		return list, "", err
	}
	return list, list[len(list)-1].Ref, nil
}

// Timeline returns the events of the incident ref, oldest first, if who may see it.
func (s *Server) Timeline(ctx context.Context, who incidentflow.Principal, ref string) ([]incidentflow.TimelineEvent, error) {
	inc, err := s.readable(ctx, who, ref)
	if err != nil {
		return nil, err
	}
	return s.cfg.Store.Timeline(ctx, inc.Ref)
}

// Tasks returns the follow-ups of the incident ref, if who may see it.
func (s *Server) Tasks(ctx context.Context, who incidentflow.Principal, ref string) ([]incidentflow.Task, error) {
	inc, err := s.readable(ctx, who, ref)
	if err != nil {
		return nil, err
	}
	return s.cfg.Store.Tasks(ctx, inc.Ref)
}

// Deadlines returns the clocks matching f of the incidents who may see,
// soonest due first.
func (s *Server) Deadlines(ctx context.Context, who incidentflow.Principal, f store.DeadlineFilter) ([]incidentflow.Deadline, error) {
	if err := allow(who, incidentflow.PermRead); err != nil {
		return nil, err
	}
	var err error
	if f.Visibility, err = s.visibility(ctx, who); err != nil {
		return nil, err
	}
	return s.cfg.Store.Deadlines(ctx, f)
}

// readable is Incident for a principal that must be allowed to read.
func (s *Server) readable(ctx context.Context, who incidentflow.Principal, ref string) (incidentflow.Incident, error) {
	if err := allow(who, incidentflow.PermRead); err != nil {
		return incidentflow.Incident{}, err
	}
	return s.Incident(ctx, who, ref)
}

// State is the state of an incident's run (one its caller may see) as
// the run last recorded it, and when: a read that never waits on a busy
// worker. A run that does not record its every move (one begun by an
// older version), or has recorded nothing readable yet, is asked live.
func (s *Server) State(ctx context.Context, inc incidentflow.Incident) (*workflows.State, time.Time, error) {
	b, at, err := s.cfg.Store.RunState(ctx, inc.Ref)
	if err != nil {
		return nil, time.Time{}, err
	}
	if b != nil {
		var recorded workflows.State
		switch err := json.Unmarshal(b, &recorded); {
		case err != nil:
			s.cfg.Logger.Warn("the recorded state cannot be read; asking the run", "incident", inc.Ref, "error", err)
		case recorded.StateRecorded:
			return &recorded, at, nil
		}
	}
	live, err := s.LiveState(ctx, inc)
	return live, time.Time{}, err
}

// LiveState asks the run of an incident (one its caller may see) for its
// state now. It fails with EUNAVAILABLE, saying why in words, when the
// run has not started or no worker answers within a few seconds.
func (s *Server) LiveState(ctx context.Context, inc incidentflow.Incident) (*workflows.State, error) {
	if inc.WorkflowStartedAt == nil {
		return nil, incidentflow.Errorf(incidentflow.EUNAVAILABLE, "the incident's run has not started yet")
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	val, err := s.cfg.Temporal.QueryWorkflow(ctx, inc.WorkflowID, "", workflows.QueryState)
	if err != nil {
		s.cfg.Logger.Warn("state query failed", "incident", inc.Ref, "error", err)
		return nil, &incidentflow.Error{Code: incidentflow.EUNAVAILABLE, Message: "the live state is unavailable right now (no worker answered)", Err: err}
	}
	var st workflows.State
	if err := val.Get(&st); err != nil {
		return nil, fmt.Errorf("decode the state of %s: %w", inc.Ref, err)
	}
	return &st, nil
}

// Version says how far the record of the incident ref has moved, if who
// may see it: a page showing it is out of date when its version changed.
// It reads only the store, so every replica answers alike.
func (s *Server) Version(ctx context.Context, who incidentflow.Principal, ref string) (string, error) {
	inc, err := s.readable(ctx, who, ref)
	if err != nil {
		return "", err
	}
	at, last, err := s.cfg.Store.Version(ctx, inc.Ref)
	if err != nil {
		return "", err
	}
	return strconv.FormatInt(at.UnixMicro(), 36) + "." + strconv.FormatInt(last, 36), nil
}

// DeclareAs declares an incident as who, who must be allowed to declare:
// Declare with who as the declarer, counted like a declaration over HTTP.
func (s *Server) DeclareAs(ctx context.Context, who incidentflow.Principal, req DeclareRequest, key string) (incidentflow.Incident, bool, error) {
	if err := allow(who, incidentflow.PermDeclare); err != nil {
		return incidentflow.Incident{}, false, err
	}
	req.DeclaredBy = who.String()
	p, err := s.checkDeclaration(&req)
	if err != nil {
		return incidentflow.Incident{}, false, err
	}
	inc, created, err := s.record(ctx, p, req, key)
	if inc.Ref != "" && !created && !sameDeclaration(inc, req) {
		// The key covers the whole declaration, as the API's Idempotency-Key does.
		return incidentflow.Incident{}, false, &incidentflow.Error{Code: incidentflow.ECONFLICT,
			Message: fmt.Sprintf("the key of this declaration was used before to declare %s, a different incident", inc.Ref)}
	}
	if created {
		s.countDeclared(inc)
	}
	return inc, created, err
}

// WaitingApproval is an approval that waits for a role its reader holds.
type WaitingApproval struct {
	Incident incidentflow.Incident
	workflows.PendingApproval
}

// WaitingReview is a post-incident review not yet held.
type WaitingReview struct {
	Incident incidentflow.Incident
	workflows.Review
}

// Work is what waits for a person: the open incidents they hold a role in
// or were paged for, the approvals waiting for a role they hold, the
// reviews of those incidents not yet held, the follow-ups they own and
// the clocks of their incidents still running.
type Work struct {
	Incidents []store.Involvement
	Approvals []WaitingApproval
	Reviews   []WaitingReview
	Tasks     []incidentflow.Task
	Deadlines []incidentflow.Deadline
	// Unanswered are the incidents whose runs did not answer: their
	// approvals and reviews are missing from the lists.
	Unanswered []string
}

// maxLiveQueries caps the runs Work asks at the same time.
const maxLiveQueries = 8

// Work gathers what waits for who, a person allowed to read.
func (s *Server) Work(ctx context.Context, who incidentflow.Principal) (Work, error) {
	var w Work
	if err := allow(who, incidentflow.PermRead); err != nil {
		return w, err
	}
	if !who.IsPerson() {
		return w, incidentflow.Errorf(incidentflow.EFORBIDDEN, "%s is a service: only people have work waiting", who)
	}
	vis, err := s.visibility(ctx, who)
	if err != nil {
		return w, err
	}
	if w.Incidents, err = s.cfg.Store.Involvements(ctx, who.ID, vis); err != nil {
		return w, err
	}
	if w.Tasks, err = s.cfg.Store.OpenTasks(ctx, who.ID, vis); err != nil {
		return w, err
	}
	refs := make([]string, len(w.Incidents))
	for i, in := range w.Incidents {
		refs[i] = in.Incident.Ref
	}
	w.Deadlines = []incidentflow.Deadline{}
	if len(refs) > 0 {
		if w.Deadlines, err = s.cfg.Store.Deadlines(ctx, store.DeadlineFilter{Statuses: []string{"open", "missed"}, Refs: refs, Visibility: vis}); err != nil {
			return w, err
		}
	}
	// Approvals and reviews live in the runs: ask those of the incidents
	// the person holds a role in, a few at a time.
	states := make([]*workflows.State, len(w.Incidents))
	var wg sync.WaitGroup
	sem := make(chan struct{}, maxLiveQueries)
	for i, in := range w.Incidents {
		if len(in.Roles) == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			states[i], _, _ = s.State(ctx, in.Incident)
		}()
	}
	wg.Wait()
	for i, in := range w.Incidents {
		st := states[i]
		switch {
		case len(in.Roles) == 0:
			continue
		case st == nil:
			w.Unanswered = append(w.Unanswered, in.Incident.Ref)
			continue
		}
		for _, p := range st.Approvals {
			if p.By == "" && st.Roles[p.Role] == who.ID {
				w.Approvals = append(w.Approvals, WaitingApproval{Incident: in.Incident, PendingApproval: *p})
			}
		}
		for _, r := range st.Reviews {
			if !r.Held {
				w.Reviews = append(w.Reviews, WaitingReview{Incident: in.Incident, Review: *r})
			}
		}
	}
	slices.SortFunc(w.Reviews, func(a, b WaitingReview) int { return a.Start.Compare(b.Start) })
	return w, nil
}

// Insights are the figures behind the charts: every incident declared
// since a time that the reader may see, and how their clocks ended.
type Insights struct {
	Since     time.Time
	Incidents []store.IncidentTimes
	Deadlines []store.DeadlineCount
}

// Insights gathers the incidents declared, and the clocks falling due,
// since a time, as who may see them.
func (s *Server) Insights(ctx context.Context, who incidentflow.Principal, since time.Time) (Insights, error) {
	in := Insights{Since: since}
	if err := allow(who, incidentflow.PermRead); err != nil {
		return in, err
	}
	vis, err := s.visibility(ctx, who)
	if err != nil {
		return in, err
	}
	if in.Incidents, err = s.cfg.Store.Times(ctx, since, vis); err != nil {
		return in, err
	}
	in.Deadlines, err = s.cfg.Store.DeadlineCounts(ctx, since, vis)
	return in, err
}

// HTTPStatus is the status the API answers an error with (200 for nil).
func HTTPStatus(err error) int {
	if err == nil {
		return 200
	}
	return httpStatus(incidentflow.ErrorCode(err))
}

// Outcome names, as the audit log does, how an action that ended with err
// went: done, refused, denied, invalid or failed.
func Outcome(err error) string { return outcome(HTTPStatus(err)) }

// ProcessOf is the process version an incident runs (its roles,
// severities and signals may differ from the file in force now).
func (s *Server) ProcessOf(ctx context.Context, inc incidentflow.Incident) (*dsl.Process, error) {
	return s.process(ctx, inc)
}

// Roles is who holds each role of the incident ref now, from its record,
// if who may see it.
func (s *Server) Roles(ctx context.Context, who incidentflow.Principal, ref string) (map[string]string, error) {
	inc, err := s.readable(ctx, who, ref)
	if err != nil {
		return nil, err
	}
	return s.cfg.Store.IncidentRoles(ctx, inc.Ref)
}
