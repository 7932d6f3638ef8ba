// Package web is incidentflow's screen for people: server-rendered pages
// (html/template) for action links and signing in, served beside the API.
// It acts through the API's actions (api.Server), so a page and a request
// do exactly the same; it must never import workflows' internals, store
// directly for incidents, activities or channels.
package web

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/api"
	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/links"
	"github.com/incidentflow/incidentflow/store"
)

// Store is what the web app needs of the database beyond the API.
type Store interface {
	UseLink(ctx context.Context, u store.LinkUse) (store.LinkUse, bool, error)
	LinkUsed(ctx context.Context, nonce string) (store.LinkUse, bool, error)
	AppendAudit(ctx context.Context, e store.AuditEntry) (store.AuditEntry, error)
}

var _ Store = (*store.Store)(nil)

// Config is the web app's wiring, built in cmd/.
type Config struct {
	App    *api.Server
	Store  Store
	Links  *links.Signer
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Server serves the web app.
type Server struct {
	cfg   Config
	mux   *http.ServeMux
	pages *template.Template
}

//go:embed templates/*.html
var templates embed.FS

//go:embed assets
var assets embed.FS

// New builds the web app's handler.
func New(cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(),
		pages: template.Must(template.New("").Funcs(template.FuncMap{"when": when}).ParseFS(templates, "templates/*.html"))}
	static, _ := fs.Sub(assets, "assets")
	s.mux.Handle("GET /assets/", http.StripPrefix("/assets/", http.FileServerFS(static)))
	s.mux.HandleFunc("GET /act/{token}", s.showLink)
	s.mux.HandleFunc("POST /act/{token}", s.useLink)
	return s
}

// Handler returns the http.Handler serving the web app, with the headers
// every page carries: a strict Content-Security-Policy (no inline script or
// style, nothing from elsewhere), no framing, no sniffing, no referrer
// beyond the origin (action links carry tokens in their path).
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		s.mux.ServeHTTP(w, r)
	})
}

// render writes a page with a status.
func (s *Server) render(w http.ResponseWriter, status int, page string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := s.pages.ExecuteTemplate(w, page, data); err != nil {
		s.cfg.Logger.Error("render page", "page", page, "error", err)
	}
}

// when writes a time as people read it.
func when(t time.Time) string { return t.UTC().Format("Mon 2 Jan 2006 15:04 UTC") }

// linkPage is what the action link pages show.
type linkPage struct {
	Token    string
	Action   string // what the button does, in words
	Link     links.Link
	Person   string
	Incident incidentflow.Incident
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

// readLink reads an action link and its person, or renders why it cannot
// be used and returns false.
func (s *Server) readLink(w http.ResponseWriter, r *http.Request) (linkPage, incidentflow.Principal, bool) {
	token := r.PathValue("token")
	page := linkPage{Token: token}
	l, err := s.cfg.Links.Parse(token, s.cfg.Now())
	page.Link = l
	switch {
	case errors.Is(err, links.ErrExpired):
		page.Problem = "This link expired on " + when(l.ExpiresAt()) + ". Links in messages work for a while only; ask for the incident's page instead."
		s.audit(r.Context(), incidentflow.Principal{Kind: incidentflow.PersonPrincipal, ID: l.Person}, l, firstOf(l.Target, l.Ref), "denied", http.StatusGone, page.Problem)
		s.render(w, http.StatusGone, "link.html", page)
		return page, incidentflow.Principal{}, false
	case err != nil || verbs[l.Action] == "" || (l.Action == dsl.LinkComplete && !strings.HasPrefix(l.Target, l.Ref+"-T")):
		page.Problem = "This is not a link incidentflow made. It may have been cut short when it was copied: open it from the message again."
		s.audit(r.Context(), incidentflow.Principal{Kind: incidentflow.PersonPrincipal, ID: "anonymous"}, l, "", "denied", http.StatusBadRequest, page.Problem)
		s.render(w, http.StatusBadRequest, "link.html", page)
		return page, incidentflow.Principal{}, false
	}
	page.Action = verbs[l.Action]
	who, err := s.cfg.App.Principal(incidentflow.PersonPrincipal, l.Person, incidentflow.RoleResponder)
	if err == nil {
		page.Person = who.Name
		// The link acts as its person for this one action, whatever their
		// access in the directory: a paged viewer still acknowledges.
		who.Role = incidentflow.RoleResponder
		page.Incident, err = s.cfg.App.Incident(r.Context(), who, l.Ref)
	}
	if err != nil {
		page.Problem = incidentflow.ErrorMessage(err)
		status := http.StatusNotFound
		switch incidentflow.ErrorCode(err) {
		case incidentflow.EUNAVAILABLE:
			status = http.StatusServiceUnavailable
		case incidentflow.EUNAUTHORIZED:
			status = http.StatusForbidden
		}
		if status != http.StatusServiceUnavailable {
			s.audit(r.Context(), incidentflow.Principal{Kind: incidentflow.PersonPrincipal, ID: l.Person}, l, firstOf(l.Target, l.Ref), "denied", status, page.Problem)
		}
		s.render(w, status, "link.html", page)
		return page, who, false
	}
	return page, who, true
}

// showLink shows what an action link does, with one button to do it: a
// GET never acts (mail scanners and link previews open links).
func (s *Server) showLink(w http.ResponseWriter, r *http.Request) {
	page, who, ok := s.readLink(w, r)
	if !ok {
		return
	}
	if page.Incident.Restricted { // a read of a restricted incident is audited
		s.audit(r.Context(), who, page.Link, firstOf(page.Link.Target, page.Link.Ref), "done", http.StatusOK, "opened the link's page")
	}
	s.render(w, http.StatusOK, "link.html", page)
}

// useLink does what an action link says, once, as its person.
func (s *Server) useLink(w http.ResponseWriter, r *http.Request) {
	page, who, ok := s.readLink(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	l := page.Link
	use := store.LinkUse{Nonce: l.Nonce, Action: l.Action, Target: firstOf(l.Target, l.Ref), Principal: who.String(), UsedAt: s.cfg.Now()}
	// A link acts once: one used is refused. It is marked used once what it
	// does is done, so a use that failed on the way (a crash, Temporal
	// away) leaves it usable; two presses at once are one update (its ID is
	// the link's), and one of them marks it.
	if first, used, err := s.cfg.Store.LinkUsed(ctx, l.Nonce); err != nil || used {
		if err != nil {
			page.Problem = incidentflow.ErrorMessage(err)
			s.render(w, http.StatusServiceUnavailable, "link.html", page)
			return
		}
		page.Used = &first
		s.audit(ctx, who, l, use.Target, "refused", http.StatusConflict, "the link was used on "+when(first.UsedAt)+" by "+first.Principal)
		s.render(w, http.StatusConflict, "link.html", page)
		return
	}
	var err error
	updateID := "link-" + l.Nonce
	switch l.Action {
	case dsl.LinkAcknowledge:
		_, err = s.cfg.App.Act(ctx, who, l.Ref, &api.AcknowledgeRequest{}, updateID)
		page.Done = "You acknowledged " + l.Ref + "."
	case dsl.LinkApprove:
		_, err = s.cfg.App.Act(ctx, who, l.Ref, &api.ApprovalRequest{}, updateID)
		page.Done = "You approved what " + l.Ref + " waited for you to approve."
	case dsl.LinkReview:
		_, err = s.cfg.App.Act(ctx, who, l.Ref, &api.ReviewHeldRequest{}, updateID)
		page.Done = "You marked the review of " + l.Ref + " held."
	case dsl.LinkComplete:
		_, err = s.cfg.App.CompleteTask(ctx, who, l.Target, api.CompleteTaskRequest{}, updateID)
		page.Done = "You marked " + l.Target + " done."
	}
	status, outcome := http.StatusOK, "done"
	if err == nil {
		if first, fresh, uerr := s.cfg.Store.UseLink(context.WithoutCancel(ctx), use); uerr != nil {
			s.cfg.Logger.Warn("could not mark a link used", "incident", l.Ref, "error", uerr)
		} else if !fresh {
			page.Done, page.Used = "", &first // a press at the same moment did it
		}
	} else {
		// What did not happen may be tried again with the same link.
		page.Done, page.Problem = "", incidentflow.ErrorMessage(err)
		status, outcome = http.StatusConflict, "refused"
		if code := incidentflow.ErrorCode(err); code != incidentflow.ECONFLICT {
			status, outcome = http.StatusServiceUnavailable, "failed"
		}
	}
	s.audit(ctx, who, l, use.Target, outcome, status, page.Problem)
	s.render(w, status, "link.html", page)
}

// audit writes the use of an action link to the audit log.
func (s *Server) audit(ctx context.Context, who incidentflow.Principal, l links.Link, target, outcome string, status int, detail string) {
	if _, err := s.cfg.Store.AppendAudit(context.WithoutCancel(ctx), store.AuditEntry{At: s.cfg.Now(), Principal: who.String(), Via: "link",
		Action: "link " + l.Action, Target: target, Outcome: outcome, Status: status, Detail: detail}); err != nil {
		s.cfg.Logger.Error("could not write the audit log", "incident", l.Ref, "error", err)
	}
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
