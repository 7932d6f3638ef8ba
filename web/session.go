package web

import (
	"crypto/hmac"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/store"
)

// A signed-in person's browser holds only a random session id in an
// HttpOnly, SameSite=Lax cookie (Secure behind https); the session itself
// — who, until when, its CSRF token — is a row of the store, so any
// replica answers and signing out ends it everywhere. Every form carries
// the session's CSRF token and every POST is checked against it. Forms
// shown before signing in carry a token of a cookie of their own.

// Cookie names; behind https, the __Host- prefix pins them to this host.
func (s *Server) cookieName(name string) string {
	if s.secure {
		return "__Host-incidentflow-" + name
	}
	return "incidentflow-" + name
}

// setCookie sets one of the app's cookies for maxAge (negative: delete it).
func (s *Server) setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	c := &http.Cookie{Name: s.cookieName(name), Value: value, Path: "/", HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode}
	if maxAge < 0 {
		c.MaxAge = -1
	} else {
		c.MaxAge = int(maxAge.Seconds())
	}
	http.SetCookie(w, c)
}

func (s *Server) cookie(r *http.Request, name string) string {
	c, err := r.Cookie(s.cookieName(name))
	if err != nil {
		return ""
	}
	return c.Value
}

// session is a signed-in request: its principal and session.
type session struct {
	store.Session
	id  string
	who incidentflow.Principal
}

// errSignedOut says a request has no session: none, ended, or of a person
// who has left the directory.
var errSignedOut = errors.New("signed out")

// readSession reads the request's session. The error is errSignedOut, or
// the store's when it could not be asked: then the session may well be
// valid, and the browser keeps its cookie.
func (s *Server) readSession(r *http.Request) (session, error) {
	id := s.cookie(r, "session")
	if id == "" {
		return session{}, errSignedOut
	}
	sess, err := s.cfg.Store.SessionByID(r.Context(), id)
	if incidentflow.ErrorCode(err) == incidentflow.EUNAUTHORIZED {
		return session{}, errSignedOut
	}
	if err != nil {
		return session{}, err
	}
	// Whoever signs in acts with the access the directory gives them now.
	who, err := s.cfg.App.Principal(incidentflow.PersonPrincipal, sess.Person, incidentflow.RoleAdmin)
	if err != nil {
		return session{}, errSignedOut
	}
	return session{Session: sess, id: id, who: who}, nil
}

// session is the request's session, if it has one that could be read.
func (s *Server) session(r *http.Request) (session, bool) {
	sess, err := s.readSession(r)
	return sess, err == nil
}

// unavailable answers a request whose session could not be read.
func (s *Server) unavailable(w http.ResponseWriter, r *http.Request, err error) {
	s.cfg.Logger.Warn("could not read a session", "error", err)
	w.Header().Set("Retry-After", "5")
	s.problemPage(w, r, http.StatusServiceUnavailable, "Unavailable",
		"incidentflow cannot reach its database just now, so nothing was done. You are still signed in: try again in a moment.")
}

// handler is a page of a signed-in person.
type handler func(w http.ResponseWriter, r *http.Request, sess session)

// signedIn admits requests of signed-in people, checking the CSRF token
// of every POST; anyone else is sent to sign in and come back.
func (s *Server) signedIn(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, err := s.readSession(r)
		if err != nil && !errors.Is(err, errSignedOut) {
			s.unavailable(w, r, err)
			return
		}
		if err != nil {
			if s.cookie(r, "session") != "" {
				s.setCookie(w, "session", "", -1)
			}
			if r.Method != http.MethodGet || r.Header.Get("Accept") == "text/event-stream" {
				s.problemPage(w, r, http.StatusUnauthorized, "Signed out", "You are not signed in (or your session ended): sign in again.")
				return
			}
			http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost && tooLong(r) {
			s.problemPage(w, r, http.StatusRequestEntityTooLarge, "Too long",
				fmt.Sprintf("This form holds more than %d MB, which is more than any field takes: nothing was done. Shorten what you wrote (a long log belongs in a file a note links to).", maxForm>>20))
			return
		}
		if r.Method == http.MethodPost && !s.checkCSRF(r, sess.CSRF) {
			s.audit(r, store.AuditEntry{Principal: sess.who.String(), Via: "session", Action: "web " + r.URL.Path,
				Outcome: "denied", Status: http.StatusForbidden, Detail: "the form's CSRF token is missing or wrong"})
			s.problemPage(w, r, http.StatusForbidden, "Form expired", "This form is out of date (or came from another site). Open the page again and retry.")
			return
		}
		h(w, r, sess)
	}
}

// maxForm bounds a form's body.
const maxForm = 1 << 20

// tooLong reads a POST's form, and reports whether it was over maxForm.
func tooLong(r *http.Request) bool {
	r.Body = http.MaxBytesReader(nil, r.Body, maxForm)
	var over *http.MaxBytesError
	return errors.As(r.ParseForm(), &over)
}

// checkCSRF reports whether a POST's form carries the token.
func (s *Server) checkCSRF(r *http.Request, token string) bool {
	r.Body = http.MaxBytesReader(nil, r.Body, maxForm)
	if err := r.ParseForm(); err != nil || token == "" {
		return false
	}
	return hmac.Equal([]byte(r.PostForm.Get("csrf")), []byte(token))
}

// preSessionToken is the CSRF token of the forms shown before signing in,
// held in a cookie of its own.
func (s *Server) preSessionToken(w http.ResponseWriter, r *http.Request) string {
	if t := s.cookie(r, "csrf"); t != "" {
		return t
	}
	t := random()
	s.setCookie(w, "csrf", t, time.Hour)
	return t
}

// random is 32 random bytes, URL-safe.
func random() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand does not fail
	return base64.RawURLEncoding.EncodeToString(b)
}

// startSession signs a person in, audits it and sends them on to next.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, who incidentflow.Principal, via, next string) {
	id, _, err := s.cfg.Store.CreateSession(r.Context(), who.ID, s.cfg.SessionTTL)
	if err != nil {
		s.cfg.Logger.Error("create session", "error", err)
		s.problemPage(w, r, http.StatusServiceUnavailable, "Sign-in failed", "The session could not be stored: "+incidentflow.ErrorMessage(err)+". Try again shortly.")
		return
	}
	s.setCookie(w, "session", id, s.cfg.SessionTTL)
	s.setCookie(w, "csrf", "", -1)
	s.audit(r, store.AuditEntry{Principal: who.String(), Via: via, Action: "sign in", Outcome: "done", Status: http.StatusSeeOther})
	http.Redirect(w, r, localPath(next), http.StatusSeeOther)
}

// signOut ends the session everywhere.
func (s *Server) signOut(w http.ResponseWriter, r *http.Request) {
	sess, err := s.readSession(r)
	if err != nil && !errors.Is(err, errSignedOut) {
		s.unavailable(w, r, err)
		return
	}
	if err != nil {
		s.setCookie(w, "session", "", -1)
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return
	}
	if !s.checkCSRF(r, sess.CSRF) {
		s.problemPage(w, r, http.StatusForbidden, "Form expired", "This form is out of date (or came from another site). Open the page again and retry.")
		return
	}
	if err := s.cfg.Store.EndSession(r.Context(), sess.id); err != nil {
		s.problemPage(w, r, http.StatusServiceUnavailable, "Sign-out failed", incidentflow.ErrorMessage(err))
		return
	}
	s.setCookie(w, "session", "", -1)
	s.audit(r, store.AuditEntry{Principal: sess.who.String(), Via: "session", Action: "sign out", Outcome: "done", Status: http.StatusSeeOther})
	http.Redirect(w, r, "/signin?out=1", http.StatusSeeOther)
}

// localPath is next if it is a path of this app, else the home page: a
// sign-in never sends anyone elsewhere.
func localPath(next string) string {
	u, err := url.Parse(next)
	if err != nil || next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.ContainsAny(next, "\\\r\n") || u.Host != "" || u.Scheme != "" {
		return "/"
	}
	return next
}

// flash leaves a message for the next page the browser shows.
func (s *Server) flash(w http.ResponseWriter, msg string) {
	s.setCookie(w, "flash", base64.RawURLEncoding.EncodeToString([]byte(msg)), time.Minute)
}

// takeFlash reads (and clears) the message left for this page.
func (s *Server) takeFlash(w http.ResponseWriter, r *http.Request) string {
	v := s.cookie(r, "flash")
	if v == "" {
		return ""
	}
	s.setCookie(w, "flash", "", -1)
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || len(b) > 2000 {
		return ""
	}
	return string(b)
}

// base is the layout of a signed-in person's page.
func (s *Server) base(w http.ResponseWriter, r *http.Request, sess session, title, nav string) page {
	who := sess.who
	p := page{Title: title, Nav: nav, Who: &who, CSRF: sess.CSRF, Flash: s.takeFlash(w, r), T: s.clock(&who)}
	if msg, ok := strings.CutPrefix(p.Flash, "!"); ok {
		p.Flash, p.Problem = "", msg
	}
	return p
}
