package api

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/serviceerror"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/store"
	"github.com/incidentflow/incidentflow/workflows"
)

// DeclareRequest is the body of POST /v1/incidents.
type DeclareRequest struct {
	Type     string         `json:"type" limit:"line,100"`
	Title    string         `json:"title" limit:"line,200"`
	Severity string         `json:"severity" limit:"line,100"`
	Summary  string         `json:"summary" limit:"text,10000"`
	Fields   map[string]any `json:"fields"`
	// DeclaredBy is who declares: the request's principal, never its body.
	DeclaredBy string `json:"-"`
}

// incidentView is an incident as the API shows it.
type incidentView struct {
	incidentflow.Incident
	URL   string          `json:"url"`
	UIURL string          `json:"ui_url"`
	State *workflows.View `json:"state,omitempty"`
	// StateAt is when the run recorded the state shown; absent when the
	// state was asked of the run live.
	StateAt *time.Time `json:"state_at,omitempty"`
	// StateError says why the state is missing, when it is.
	StateError string `json:"state_error,omitempty"`
}

func (s *Server) view(inc incidentflow.Incident) incidentView {
	return incidentView{Incident: inc, URL: s.incidentURL(inc.Ref), UIURL: s.uiURL(inc.WorkflowID)}
}

func (s *Server) incidentURL(ref string) string {
	return s.cfg.BaseURL + "/v1/incidents/" + url.PathEscape(ref)
}

func (s *Server) uiURL(workflowID string) string {
	return fmt.Sprintf("%s/namespaces/%s/workflows/%s", s.cfg.UIURL, url.PathEscape(s.cfg.Namespace), url.PathEscape(workflowID))
}

func (s *Server) declare(c *gin.Context) {
	var req DeclareRequest
	if err := decode(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	key, err := idempotencyKey(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	req.DeclaredBy = callerID(c)
	p, err := s.checkDeclaration(&req)
	if err != nil {
		s.fail(c, err)
		return
	}
	// Keys belong to their caller: another's key, even the same, is not theirs,
	// so no caller finds (or squats) another's incident by its key.
	stored := ""
	if key != "" {
		stored = req.DeclaredBy + " " + key
	}
	inc, created, err := s.record(c.Request.Context(), p, req, stored)
	c.Set(targetKey, inc.Ref)
	if inc.Ref != "" && !created && !sameDeclaration(inc, req) {
		s.fail(c, &incidentflow.Error{Code: incidentflow.EINVALID,
			Message: fmt.Sprintf("the Idempotency-Key %q was already used to declare %s, a different incident; use a new key", key, inc.Ref),
			Details: []incidentflow.Detail{{Field: "Idempotency-Key", Message: "already used for " + inc.Ref}}})
		return
	}
	if !created && inc.Ref != "" && !caller(c).Allows(incidentflow.PermRead) {
		// A declarer reads nothing: a replay answers with what it declared,
		// not with the incident as people have changed it since.
		inc = incidentflow.Incident{Ref: inc.Ref, Type: inc.Type, Title: req.Title, Summary: req.Summary, Severity: req.Severity,
			Status: p.InitialStatus, Fields: req.Fields, ProcessHash: inc.ProcessHash, WorkflowID: inc.WorkflowID,
			DeclaredBy: inc.DeclaredBy, DeclaredAt: inc.DeclaredAt, UpdatedAt: inc.DeclaredAt, Restricted: inc.Restricted}
	}
	switch {
	case err != nil && inc.Ref == "":
		s.fail(c, err)
	case err != nil:
		if created {
			s.countDeclared(inc)
		}
		// Recorded, not yet running: the reconciler will start it; nothing is lost.
		s.cfg.Logger.Warn("incident recorded but its run did not start; the reconciler will retry", "incident", inc.Ref, "error", err)
		c.JSON(http.StatusAccepted, gin.H{"incident": s.view(inc), "started": false,
			"message": "the incident is recorded but Temporal could not start its run yet; it starts automatically once Temporal answers"})
	case created:
		s.countDeclared(inc)
		c.Header("Location", s.incidentURL(inc.Ref))
		c.JSON(http.StatusCreated, s.view(inc))
	default:
		c.Header("Idempotent-Replayed", "true")
		c.JSON(http.StatusOK, s.view(inc))
	}
}

// record records a checked declaration and starts its run, exactly once.
// With an idempotency key used before, it returns the incident declared
// then (and starts its run if that start had failed), whatever req says:
// sameDeclaration tells whether it is the same. When the incident is
// recorded but its run cannot start, it returns the incident and the start
// error.
func (s *Server) record(ctx context.Context, p *dsl.Process, req DeclareRequest, key string) (incidentflow.Incident, bool, error) {
	if err := s.saveProcessVersion(ctx, p); err != nil {
		return incidentflow.Incident{}, false, err
	}
	inc := s.newIncident(p, req, key)
	stored, created, err := s.cfg.Store.CreateIncident(ctx, inc)
	if err != nil {
		return incidentflow.Incident{}, false, err
	}
	if stored.WorkflowStartedAt == nil {
		if _, err := s.start(ctx, stored); err != nil {
			return stored, created, err
		}
	}
	return stored, created, nil
}

// saveProcessVersion keeps the process an incident is declared with.
func (s *Server) saveProcessVersion(ctx context.Context, p *dsl.Process) error {
	src := s.cfg.Catalog.Sources[p.Type]
	snapshot, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode process %s: %w", p.Type, err)
	}
	pv := store.ProcessVersion{Hash: src.Hash, Type: p.Type, File: src.File, YAML: string(src.YAML), Snapshot: snapshot}
	if p.Restricted() {
		pv.Viewers = []string{}
		for _, t := range p.Visibility.Viewers {
			pv.Viewers = append(pv.Viewers, t.String())
		}
	}
	return s.cfg.Store.SaveProcessVersion(ctx, pv)
}

// newIncident is the incident a checked declaration declares, under key.
func (s *Server) newIncident(p *dsl.Process, req DeclareRequest, key string) incidentflow.Incident {
	inc := incidentflow.Incident{Type: p.Type, Title: req.Title, Summary: req.Summary, Severity: req.Severity,
		Status: p.InitialStatus, Fields: req.Fields, ProcessHash: s.cfg.Catalog.Sources[p.Type].Hash, DeclaredBy: req.DeclaredBy, DeclaredAt: s.cfg.Now().UTC(),
		Restricted: p.Restricted(), RequestHash: declarationHash(req)}
	if key != "" {
		inc.IdempotencyKey = &key
	}
	return inc
}

// checkDeclaration validates a declaration, reporting every problem at once,
// and normalises its fields. It returns the incident's process.
func (s *Server) checkDeclaration(req *DeclareRequest) (*dsl.Process, error) {
	var details []incidentflow.Detail
	add := func(field, format string, args ...any) {
		details = append(details, incidentflow.Detail{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	for _, d := range incidentflow.CheckLimits(req) {
		add(d.Field, "%s", d.Message)
	}
	req.Title = strings.TrimSpace(req.Title)
	if req.Title == "" {
		add("title", "is required")
	}
	p, ok := s.cfg.Catalog.Processes[req.Type]
	switch {
	case req.Type == "":
		add("type", "is required: one of %s", strings.Join(s.cfg.Catalog.Types(), ", "))
	case !ok:
		add("type", "%q is not an incident type here: use one of %s%s", req.Type, strings.Join(s.cfg.Catalog.Types(), ", "), dsl.DidYouMean(req.Type, s.cfg.Catalog.Types()))
	}
	if ok {
		switch {
		case req.Severity == "":
			add("severity", "is required: one of %s", strings.Join(p.Severities, ", "))
		case p.SeverityRank(req.Severity) < 0:
			add("severity", "%q is not a severity of %s incidents: use one of %s", req.Severity, p.Type, strings.Join(p.Severities, ", "))
		}
		fields, errs := p.CheckFields(req.Fields)
		for _, e := range errs {
			name := "fields"
			if e.Field != "" {
				name += "." + e.Field
			}
			add(name, "%s", e.Message)
		}
		req.Fields = fields
	}
	if len(details) > 0 {
		err := invalid(details).(*incidentflow.Error)
		err.Message = "the declaration is not valid: " + err.Message
		return nil, err
	}
	return p, nil
}

// start starts the run of a recorded incident from its stored process version
// and marks it started. A run that already exists counts as started; created
// says whether this call made it (another replica's reconciler may have).
func (s *Server) start(ctx context.Context, inc incidentflow.Incident) (created bool, err error) {
	// A caller hanging up does not cut the start short: the incident is
	// recorded, and a start cancelled as Temporal answers would lose the
	// run's first workflow task (it comes back with the start) until the
	// task's timeout.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	p, err := s.process(ctx, inc)
	if err != nil {
		return false, err
	}
	in := workflows.Input{
		Incident: workflows.Declared{Ref: inc.Ref, Type: inc.Type, Title: inc.Title, Summary: inc.Summary, Severity: inc.Severity,
			Status: inc.Status, Fields: inc.Fields, DeclaredBy: inc.DeclaredBy, DeclaredAt: inc.DeclaredAt},
		Process: *p, ProcessHash: inc.ProcessHash, Calendar: s.cfg.Catalog.Directory.Calendar,
		Links:    dsl.Links{Incident: s.incidentURL(inc.Ref), Temporal: s.uiURL(inc.WorkflowID), Actions: s.cfg.BaseURL + "/act/"},
		Features: workflows.Features,
	}
	_, err = s.cfg.Temporal.ExecuteWorkflow(ctx, workflows.StartOptions(in), workflows.WorkflowName, in)
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if err != nil && !errors.As(err, &already) {
		return false, &incidentflow.Error{Code: incidentflow.EUNAVAILABLE, Message: "Temporal could not start the incident's run", Err: err}
	}
	return err == nil, s.cfg.Store.MarkWorkflowStarted(ctx, inc.Ref)
}

// Reconcile starts the runs of incidents recorded more than grace ago whose
// start was never confirmed: the API died, or Temporal was down, between the
// insert and the start (or a notification of thousands of alerts left them
// for it). It goes on, a page at a time, while it makes headway, so that
// one pass starts them all; a run that cannot start is left for the next
// pass (three failing in a row end it: Temporal is away), and the first
// such error is returned with how many it started.
// Every api replica reconciles: when two reach the same incident, Temporal
// starts its run once (the workflow ID is the incident's) and the other only
// marks it.
func (s *Server) Reconcile(ctx context.Context, grace time.Duration) (int, error) {
	started, inARow := 0, 0
	var firstErr error
	failed := map[string]bool{}
	for {
		limit := reconcilePage + len(failed)
		list, err := s.cfg.Store.UnstartedIncidents(ctx, s.cfg.Now().Add(-grace), limit)
		if err != nil {
			return started, err
		}
		progress := false
		for _, inc := range list {
			if failed[inc.Ref] {
				continue
			}
			created, err := s.start(ctx, inc)
			if err != nil {
				failed[inc.Ref] = true
				firstErr = cmp.Or(firstErr, fmt.Errorf("start %s: %w", inc.Ref, err))
				if inARow++; inARow >= reconcileFailures {
					return started, firstErr // Temporal is away: the next pass tries again
				}
				continue
			}
			progress, inARow = true, 0
			if !created {
				continue // another replica's reconciler, or the declaring request, won
			}
			s.cfg.Logger.Info("reconciler started an incident's run", "incident", inc.Ref)
			started++
		}
		if !progress || len(list) < limit || ctx.Err() != nil {
			return started, firstErr
		}
	}
}

// reconcilePage is how many unstarted incidents Reconcile reads at a time;
// reconcileFailures how many starts failing one after another end a pass.
const (
	reconcilePage     = 100
	reconcileFailures = 3
)

// RunReconciler calls Reconcile every interval until ctx ends, and drops
// the answers to idempotent requests too old to be retried.
func (s *Server) RunReconciler(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.Reconcile(ctx, interval); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Warn("reconciler", "error", err)
		}
		if _, err := s.cfg.Store.PruneRequests(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Warn("reconciler: prune idempotency keys", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// declarationHash identifies everything a checked declaration says, so that
// its idempotency key covers the whole request.
func declarationHash(req DeclareRequest) string {
	b, _ := json.Marshal(req) // maps marshal with sorted keys: the same request, the same bytes
	return hashOf(b)
}

// sameDeclaration reports whether a checked declaration asks for the
// incident an idempotency key declared before. Incidents declared before
// the hash was kept are compared by type, title and severity.
func sameDeclaration(inc incidentflow.Incident, req DeclareRequest) bool {
	if inc.RequestHash == "" {
		return inc.Type == req.Type && inc.Title == req.Title && inc.Severity == req.Severity
	}
	return inc.RequestHash == declarationHash(req)
}

// countDeclared counts a declaration in the metrics, which need no token:
// a restricted incident counts without its type or severity, so that the
// counts show nobody what they may not see.
func (s *Server) countDeclared(inc incidentflow.Incident) {
	if inc.Restricted {
		s.metrics.declared.WithLabelValues(incidentflow.RestrictedType, incidentflow.RestrictedType).Inc()
		return
	}
	s.metrics.declared.WithLabelValues(inc.Type, inc.Severity).Inc()
}
