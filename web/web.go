// Package web is incidentflow's screen for people: server-rendered pages
// (html/template) with a small script of our own for partial updates and
// Server-Sent Events, served beside the API. People sign in with OpenID
// Connect (or, in dev, a one-time link through their own channel); the
// pages act through the API's actions and read through its methods
// (api.Server), so a page and a request see and do exactly the same. It
// must never import workflows' internals beyond their state, store for
// incidents, activities or channels.
package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
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

// Store is what the web app needs of the database beyond the API: action
// links used, the audit log, sessions and sign-ins under way.
type Store interface {
	UseLink(ctx context.Context, u store.LinkUse) (store.LinkUse, bool, error)
	LinkUsed(ctx context.Context, nonce string) (store.LinkUse, bool, error)
	AppendAudit(ctx context.Context, e store.AuditEntry) (store.AuditEntry, error)
	CreateSession(ctx context.Context, person string, ttl time.Duration) (string, store.Session, error)
	SessionByID(ctx context.Context, id string) (store.Session, error)
	EndSession(ctx context.Context, id string) error
	PruneSessions(ctx context.Context) error
	BeginSignIn(ctx context.Context, state string, f store.SignInFlow) error
	FinishSignIn(ctx context.Context, state string) (store.SignInFlow, error)
	PruneSignIns(ctx context.Context) error
}

var _ Store = (*store.Store)(nil)

// LinkSender delivers a sign-in link to a person through their own
// channel, as a message of a process would reach them.
type LinkSender interface {
	SendSignIn(ctx context.Context, p dsl.Person, link string) error
}

// Config is the web app's wiring, built in cmd/.
type Config struct {
	App    *api.Server
	Store  Store
	Links  *links.Signer
	Logger *slog.Logger
	// PublicURL is where people reach the app: links and the OpenID
	// redirect are made from it, and its https makes cookies Secure.
	PublicURL string
	// OIDC signs people in with an OpenID Provider; nil means no provider.
	OIDC *OIDCConfig
	// SignInLinks, when set (dev), signs people in with a one-time link
	// sent through their channel.
	SignInLinks LinkSender
	// SessionTTL is how long a sign-in lasts; 0 means 12 hours.
	SessionTTL time.Duration
	// Poll is how often a live page's stream looks for changes; 0 means a second.
	Poll time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Server serves the web app.
type Server struct {
	cfg    Config
	mux    *http.ServeMux
	pages  *template.Template
	oidc   *provider
	secure bool
	// closing is closed when the server stops: live streams end.
	closing     chan struct{}
	signInLinks linkBudget
	streams     streamCount
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
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	s := &Server{cfg: cfg, mux: http.NewServeMux(), secure: strings.HasPrefix(cfg.PublicURL, "https://"), closing: make(chan struct{}),
		pages: template.Must(template.New("").Funcs(funcs).ParseFS(templates, "templates/*.html"))}
	if cfg.OIDC != nil {
		s.oidc = newProvider(*cfg.OIDC, cfg.PublicURL+"/signin/callback")
	}
	static, _ := fs.Sub(assets, "assets")
	files := http.StripPrefix("/assets/", http.FileServerFS(static))
	tags := assetTags(static)
	s.mux.Handle("GET /assets/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Revalidated on every use, answered 304 while unchanged.
		w.Header().Set("Cache-Control", "no-cache")
		if tag, ok := tags[strings.TrimPrefix(r.URL.Path, "/assets/")]; ok {
			w.Header().Set("ETag", tag)
		}
		files.ServeHTTP(w, r)
	}))
	s.mux.HandleFunc("GET /act/{token}", s.showLink)
	s.mux.HandleFunc("POST /act/{token}", s.useLink)

	s.mux.HandleFunc("GET /signin", s.signInPage)
	s.mux.HandleFunc("POST /signin", s.sendSignInLink)
	s.mux.HandleFunc("GET /signin/link/{token}", s.showSignInLink)
	s.mux.HandleFunc("POST /signin/link/{token}", s.useSignInLink)
	s.mux.HandleFunc("GET /signin/oidc", s.startOIDC)
	s.mux.HandleFunc("GET /signin/callback", s.finishOIDC)
	s.mux.HandleFunc("POST /signout", s.signOut)

	s.mux.HandleFunc("GET /{$}", s.signedIn(s.work))
	s.mux.HandleFunc("GET /incidents", s.signedIn(s.incidents))
	s.mux.HandleFunc("GET /incidents/{ref}", s.signedIn(s.incident))
	s.mux.HandleFunc("GET /incidents/{ref}/stream", s.signedIn(s.stream))
	s.mux.HandleFunc("POST /incidents/{ref}/{action}", s.signedIn(s.act))
	s.mux.HandleFunc("POST /tasks/{id}/complete", s.signedIn(s.completeTask))
	s.mux.HandleFunc("GET /declare", s.signedIn(s.chooseProcess))
	s.mux.HandleFunc("GET /declare/{type}", s.signedIn(s.declareForm))
	s.mux.HandleFunc("POST /declare/{type}", s.signedIn(s.declare))
	s.mux.HandleFunc("GET /deadlines", s.signedIn(s.deadlines))
	s.mux.HandleFunc("GET /oncall", s.signedIn(s.onCall))
	s.mux.HandleFunc("GET /processes", s.signedIn(s.processes))
	s.mux.HandleFunc("GET /processes/{type}", s.signedIn(s.process))
	s.mux.HandleFunc("GET /insights", s.signedIn(s.insights))
	s.mux.HandleFunc("GET /insights/{file}", s.signedIn(s.insightsCSV))
	s.mux.HandleFunc("/", s.notFound)
	return s
}

// assetTags are the ETags of the embedded assets: their content's hash.
func assetTags(static fs.FS) map[string]string {
	tags := map[string]string{}
	_ = fs.WalkDir(static, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(static, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		tags[p] = `"` + hex.EncodeToString(sum[:8]) + `"`
		return nil
	})
	return tags
}

// Handler returns the http.Handler serving the web app, with the headers
// every page carries: a strict Content-Security-Policy (no inline script or
// style, nothing from elsewhere), no framing, no sniffing, no referrer
// beyond the origin (action links carry tokens in their path).
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		s.mux.ServeHTTP(w, r)
	})
}

// Run does the web app's housekeeping until ctx ends: every interval it
// removes expired sessions and sign-ins. When ctx ends it ends the live
// streams, which would otherwise hold the server's shutdown until its
// drain gives up (the browser reconnects to whichever replica is up).
func (s *Server) Run(ctx context.Context, interval time.Duration) {
	defer close(s.closing)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := s.cfg.Store.PruneSessions(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Warn("prune sessions", "error", err)
		}
		if err := s.cfg.Store.PruneSignIns(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Warn("prune sign-ins", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// page is what every page's layout needs, and the page's own Data.
type page struct {
	Title string
	// Nav names the section the page belongs to, for the current link.
	Nav  string
	Who  *incidentflow.Principal
	CSRF string
	// Flash says what the last action did; Problem why it did not happen.
	Flash, Problem string
	// Stream is the page's live-change stream, and Version where it stands.
	Stream, Version string
	T               clock
	Data            any
}

// render writes a page with a status, buffered so a template error
// becomes a clean 500 rather than half a page.
func (s *Server) render(w http.ResponseWriter, status int, name string, p page) {
	var buf bytes.Buffer
	if err := s.pages.ExecuteTemplate(&buf, name, p); err != nil {
		s.cfg.Logger.Error("render page", "page", name, "error", err)
		http.Error(w, "The page could not be shown; the error is logged.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// notFound answers every path the app does not know.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	// Never what the link said: anyone can write one.
	s.problemPage(w, r, http.StatusNotFound, "Not found", "There is no such page here.")
}

// problemPage shows a page that only says what went wrong.
func (s *Server) problemPage(w http.ResponseWriter, r *http.Request, status int, title, problem string) {
	p := page{Title: title, Problem: problem, T: s.clock(nil)}
	if sess, ok := s.session(r); ok {
		p.Who, p.CSRF, p.T = &sess.who, sess.CSRF, s.clock(&sess.who)
	}
	s.render(w, status, "problem.html", p)
}

// audit writes what a signed-in person (or someone signing in) did, or was
// refused, to the audit log, as the API writes its own (api.Server.Audit).
func (s *Server) audit(r *http.Request, e store.AuditEntry) {
	e.At = s.cfg.Now()
	s.cfg.App.Audit(r.Context(), e, r.RemoteAddr)
}

// auditDone is the audit entry of what a signed-in person did.
func auditDone(sess session, action, target string) store.AuditEntry {
	return store.AuditEntry{Principal: sess.who.String(), Via: "session", Action: action, Target: target, Outcome: "done", Status: http.StatusOK}
}

// auditRefusal is the audit entry of what a signed-in person was refused, and why.
func auditRefusal(sess session, action, target string, err error) store.AuditEntry {
	return store.AuditEntry{Principal: sess.who.String(), Via: "session", Action: action, Target: target,
		Outcome: api.Outcome(err), Status: api.HTTPStatus(err), Detail: incidentflow.ErrorMessage(err)}
}
