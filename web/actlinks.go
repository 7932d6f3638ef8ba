package web

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/api"
	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/links"
	"github.com/incidentflow/incidentflow/store"
)

// linkPage is what the action link pages show.
type linkPage struct {
	Token    string
	Action   string // what the button does, in words
	Link     links.Link
	Person   string
	Incident incidentflow.Incident
	// Approving names the approvals an approve link gives.
	Approving string
	// Done, Problem and Used say how a use went.
	Done    string
	Problem string
	Used    *store.LinkUse
}

// verbs say what each action link does.
var verbs = map[string]string{
	dsl.LinkAcknowledge: "Acknowledge",
	dsl.LinkApprove:     "Approve",
	dsl.LinkComplete:    "Mark done",
	dsl.LinkReview:      "Mark the review held",
}

// renderLink shows an action link's page.
func (s *Server) renderLink(w http.ResponseWriter, status int, lp linkPage) {
	title := lp.Action
	if title == "" {
		title = "Link"
	}
	s.render(w, status, "link.html", page{Title: title, T: s.clock(nil), Data: lp})
}

// readLink reads an action link and its person, or renders why it cannot
// be used and returns false.
func (s *Server) readLink(w http.ResponseWriter, r *http.Request) (linkPage, incidentflow.Principal, bool) {
	token := r.PathValue("token")
	lp := linkPage{Token: token}
	l, err := s.cfg.Links.Parse(token, s.cfg.Now())
	lp.Link = l
	switch {
	case errors.Is(err, links.ErrExpired):
		lp.Problem = "This link expired on " + s.clock(nil).When(l.ExpiresAt()) + ". Links in messages work for a while only; ask for the incident's page instead."
		// An expired link vouches for nobody, as an expired token does: its
		// refusal is anonymous (within the budget of those), naming its person.
		s.auditLink(r, incidentflow.Principal{Kind: incidentflow.PersonPrincipal, ID: dsl.AnonymousID}, l, firstOf(l.Target, l.Ref), "denied", http.StatusGone,
			"a link of "+l.Person+": "+lp.Problem)
		s.renderLink(w, http.StatusGone, lp)
		return lp, incidentflow.Principal{}, false
	case err != nil || verbs[l.Action] == "" || (l.Action == dsl.LinkComplete && !strings.HasPrefix(l.Target, l.Ref+"-T")) || !approvalTarget(l):
		lp.Problem = "This is not a link incidentflow made. It may have been cut short when it was copied: open it from the message again."
		s.auditLink(r, incidentflow.Principal{Kind: incidentflow.PersonPrincipal, ID: dsl.AnonymousID}, l, "", "denied", http.StatusBadRequest, lp.Problem)
		s.renderLink(w, http.StatusBadRequest, lp)
		return lp, incidentflow.Principal{}, false
	}
	lp.Action = verbs[l.Action]
	who, err := s.cfg.App.Principal(incidentflow.PersonPrincipal, l.Person, incidentflow.RoleResponder)
	if err == nil {
		lp.Person = who.Name
		// The link acts as its person for this one action, whatever their
		// access in the directory: a paged viewer still acknowledges.
		who.Role = incidentflow.RoleResponder
		lp.Incident, err = s.cfg.App.Incident(r.Context(), who, l.Ref)
	}
	if err != nil {
		lp.Problem = incidentflow.ErrorMessage(err)
		status := http.StatusNotFound
		switch incidentflow.ErrorCode(err) {
		case incidentflow.EUNAVAILABLE:
			status = http.StatusServiceUnavailable
		case incidentflow.EUNAUTHORIZED:
			status = http.StatusForbidden
		}
		switch {
		case status == http.StatusForbidden:
			// A link of someone who left the directory vouches for nobody,
			// as a revoked token does.
			s.auditLink(r, incidentflow.Principal{Kind: incidentflow.PersonPrincipal, ID: dsl.AnonymousID}, l, firstOf(l.Target, l.Ref), "denied", status,
				"a link of "+l.Person+": "+lp.Problem)
		case status != http.StatusServiceUnavailable:
			s.auditLink(r, incidentflow.Principal{Kind: incidentflow.PersonPrincipal, ID: l.Person}, l, firstOf(l.Target, l.Ref), "denied", status, lp.Problem)
		}
		s.renderLink(w, status, lp)
		return lp, who, false
	}
	return lp, who, true
}

// showLink shows what an action link does, with one button to do it: a
// GET never acts (mail scanners and link previews open links).
func (s *Server) showLink(w http.ResponseWriter, r *http.Request) {
	lp, who, ok := s.readLink(w, r)
	if !ok {
		return
	}
	if lp.Incident.Restricted { // a read of a restricted incident is audited
		s.auditLink(r, who, lp.Link, firstOf(lp.Link.Target, lp.Link.Ref), "done", http.StatusOK, "opened the link's page")
	}
	if lp.Link.Action == dsl.LinkApprove {
		steps, err := s.approvals(r.Context(), lp)
		if err != nil {
			lp.Problem = incidentflow.ErrorMessage(err)
			s.renderLink(w, api.HTTPStatus(err), lp)
			return
		}
		lp.Approving = approvalWords(steps)
	}
	s.renderLink(w, http.StatusOK, lp)
}

// approvalTarget reports whether a link's target is one of its action:
// an approve link names approvals by number (or, made before links named
// them, none).
func approvalTarget(l links.Link) bool {
	if l.Action != dsl.LinkApprove {
		return true
	}
	_, err := dsl.ApprovalsOf(l.Target)
	return err == nil
}

// approvals are the steps of the approvals an approve link gives that
// wait now: those it was sent for ("" for a link that names none: what
// waits for its person). One that no longer waits, or has not begun, is
// ECONFLICT, in words: the link gives nothing it was not sent for.
func (s *Server) approvals(ctx context.Context, lp linkPage) ([]string, error) {
	seqs, _ := dsl.ApprovalsOf(lp.Link.Target) // readLink checked it
	if len(seqs) == 0 {
		return []string{""}, nil
	}
	st, err := s.cfg.App.LiveState(ctx, lp.Incident) // it acts: the run must answer anyway
	if err != nil {
		return nil, err
	}
	var steps []string
	for _, p := range st.Approvals {
		if p.By == "" && slices.Contains(seqs, p.Seq) {
			steps = append(steps, p.Step)
		}
	}
	switch {
	case len(steps) > 0:
		return steps, nil
	case slices.Max(seqs) > st.ApprovalCount:
		return nil, incidentflow.Errorf(incidentflow.ECONFLICT,
			"the approval this link was sent for has not begun yet: press the link again once %s waits for it", lp.Link.Ref)
	}
	return nil, incidentflow.Errorf(incidentflow.ECONFLICT,
		"the approval this link was sent for no longer waits: it was given, or it ended. A link gives only what it was sent for: open %s to see what waits now", lp.Link.Ref)
}

// approvalWords names the approval steps a link gives.
func approvalWords(steps []string) string {
	if len(steps) == 1 && steps[0] == "" {
		return "what waits for your approval"
	}
	return strings.Join(steps, ", ")
}

// useLink does what an action link says, once, as its person.
func (s *Server) useLink(w http.ResponseWriter, r *http.Request) {
	lp, who, ok := s.readLink(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	l := lp.Link
	use := store.LinkUse{Nonce: l.Nonce, Action: l.Action, Target: firstOf(l.Target, l.Ref), Principal: who.String(), UsedAt: s.cfg.Now()}
	// A link acts once: one used is refused. It is marked used once what it
	// does is done, so a use that failed on the way (a crash, Temporal
	// away) leaves it usable; two presses at once are one update (its ID is
	// the link's), and one of them marks it.
	if first, used, err := s.cfg.Store.LinkUsed(ctx, l.Nonce); err != nil || used {
		if err != nil {
			lp.Problem = incidentflow.ErrorMessage(err)
			s.renderLink(w, http.StatusServiceUnavailable, lp)
			return
		}
		lp.Used = &first
		s.auditLink(r, who, l, use.Target, "refused", http.StatusConflict, "the link was used on "+s.clock(nil).When(first.UsedAt)+" by "+first.Principal)
		s.renderLink(w, http.StatusConflict, lp)
		return
	}
	var err error
	updateID := "link-" + l.Nonce
	switch l.Action {
	case dsl.LinkAcknowledge:
		_, err = s.cfg.App.Act(ctx, who, l.Ref, &api.AcknowledgeRequest{}, updateID)
		lp.Done = "You acknowledged " + l.Ref + "."
	case dsl.LinkApprove:
		var steps []string
		if steps, err = s.approvals(ctx, lp); err == nil {
			seqs, _ := dsl.ApprovalsOf(l.Target) // readLink checked it
			_, err = s.cfg.App.Act(ctx, who, l.Ref, &api.ApprovalRequest{Approvals: seqs}, updateID)
		}
		lp.Done = "You approved " + approvalWords(steps) + " on " + l.Ref + "."
	case dsl.LinkReview:
		_, err = s.cfg.App.Act(ctx, who, l.Ref, &api.ReviewHeldRequest{}, updateID)
		lp.Done = "You marked the review of " + l.Ref + " held."
	case dsl.LinkComplete:
		_, err = s.cfg.App.CompleteTask(ctx, who, l.Target, api.CompleteTaskRequest{}, updateID)
		lp.Done = "You marked " + l.Target + " done."
	}
	status, outcome := http.StatusOK, "done"
	if err == nil {
		if first, fresh, uerr := s.cfg.Store.UseLink(context.WithoutCancel(ctx), use); uerr != nil {
			s.cfg.Logger.Warn("could not mark a link used", "incident", l.Ref, "error", uerr)
		} else if !fresh {
			lp.Done, lp.Used = "", &first // a press at the same moment did it
		}
	} else {
		// What did not happen may be tried again with the same link.
		lp.Done, lp.Problem = "", incidentflow.ErrorMessage(err)
		status, outcome = api.HTTPStatus(err), api.Outcome(err)
	}
	s.auditLink(r, who, l, use.Target, outcome, status, lp.Problem)
	s.renderLink(w, status, lp)
}

// auditLink writes the use of an action link to the audit log.
func (s *Server) auditLink(r *http.Request, who incidentflow.Principal, l links.Link, target, outcome string, status int, detail string) {
	s.audit(r, store.AuditEntry{Principal: who.String(), Via: "link", Action: "link " + l.Action, Target: target,
		Outcome: outcome, Status: status, Detail: detail})
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
