package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/links"
	"github.com/incidentflow/incidentflow/store"
)

// signInPage is what the sign-in pages show.
type signInPage struct {
	OIDC     bool
	Provider string
	Links    bool
	Next     string
	Token    string
	// Sent says a link is on its way to whoever was named.
	Sent    string
	SignOut bool
	// Person and Link are a sign-in link's.
	Person string
	Link   *links.Link
}

func (s *Server) renderSignIn(w http.ResponseWriter, r *http.Request, status int, sp signInPage, problem string) {
	sp.OIDC, sp.Links = s.oidc != nil, s.cfg.SignInLinks != nil
	if s.oidc != nil {
		if u, err := url.Parse(s.oidc.cfg.Issuer); err == nil {
			sp.Provider = u.Host
		}
	}
	sp.Token = s.preSessionToken(w, r)
	s.render(w, status, "signin.html", page{Title: "Sign in", Problem: problem, T: s.clock(nil), Data: sp})
}

// signInPage offers the ways to sign in: the OpenID Provider, or (in dev)
// a one-time link sent through one's own channel.
func (s *Server) signInPage(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.session(r); ok {
		http.Redirect(w, r, localPath(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	sp := signInPage{Next: localPath(r.URL.Query().Get("next")), SignOut: r.URL.Query().Get("out") != ""}
	problem := ""
	if s.oidc == nil && s.cfg.SignInLinks == nil {
		problem = "Signing in is not set up here: the api needs an OpenID Provider (INCIDENTFLOW_OIDC_ISSUER, _CLIENT_ID and _CLIENT_SECRET)."
	}
	s.renderSignIn(w, r, http.StatusOK, sp, problem)
}

// maxWho bounds what the sign-in form takes as a name.
const maxWho = 254

// sendSignInLink sends a sign-in link to the person named by id or
// e-mail, through their channel. The page says the same whether or not
// anyone has that name, so it tells nobody who is in the directory.
func (s *Server) sendSignInLink(w http.ResponseWriter, r *http.Request) {
	if s.cfg.SignInLinks == nil {
		s.problemPage(w, r, http.StatusNotFound, "Not found", "Sign-in links are not used here: sign in with the OpenID Provider.")
		return
	}
	if !s.checkCSRF(r, s.cookie(r, "csrf")) {
		s.renderSignIn(w, r, http.StatusForbidden, signInPage{Next: "/"}, "This form is out of date: try again.")
		return
	}
	name := strings.TrimSpace(r.PostForm.Get("who"))
	sp := signInPage{Next: localPath(r.PostForm.Get("next"))}
	if msg := incidentflow.CheckString(name, true, maxWho); name == "" || msg != "" {
		if name == "" {
			msg = "is required: your id in the directory, or your e-mail address"
		}
		s.renderSignIn(w, r, http.StatusUnprocessableEntity, sp, "Who you are "+msg+".")
		return
	}
	sp.Sent = name
	person, ok := s.findPerson(name)
	if !ok {
		s.audit(r, store.AuditEntry{Principal: dsl.AnonymousID, Via: "link", Action: "sign in link", Outcome: "refused",
			Status: http.StatusOK, Detail: "nobody in the directory is " + name})
		s.renderSignIn(w, r, http.StatusOK, sp, "")
		return
	}
	if !s.signInLinks.admit(person.ID, s.cfg.Now()) {
		// The page says the same, so that it tells nobody who is in the directory.
		s.audit(r, store.AuditEntry{Principal: dsl.AnonymousID, Via: "link", Action: "sign in link", Outcome: "refused", Status: http.StatusOK,
			Detail: fmt.Sprintf("not sent to %s: %d were sent in the last %s", person.ID, linksPerPerson, linkWindow)})
		s.renderSignIn(w, r, http.StatusOK, sp, "")
		return
	}
	token := s.cfg.Links.Make(links.SignIn, "", sp.Next, person.ID, s.cfg.Now())
	if err := s.cfg.SignInLinks.SendSignIn(r.Context(), person, s.cfg.PublicURL+"/signin/link/"+token); err != nil {
		s.cfg.Logger.Warn("could not send a sign-in link", "error", err)
		s.audit(r, store.AuditEntry{Principal: person.ID, Via: "link", Action: "sign in link", Outcome: "failed",
			Status: http.StatusServiceUnavailable, Detail: incidentflow.ErrorMessage(err)})
		s.renderSignIn(w, r, http.StatusServiceUnavailable, signInPage{Next: sp.Next}, "The sign-in link could not be sent: try again shortly.")
		return
	}
	s.audit(r, store.AuditEntry{Principal: person.ID, Via: "link", Action: "sign in link", Outcome: "done", Status: http.StatusOK})
	s.renderSignIn(w, r, http.StatusOK, sp, "")
}

// findPerson finds the one person of the directory with an id or an
// e-mail address (in any case).
func (s *Server) findPerson(name string) (dsl.Person, bool) {
	dir := s.cfg.App.Catalog().Directory
	if p, ok := dir.Person(name); ok {
		return p, true
	}
	return personByEmail(dir, name)
}

// personByEmail is the one person with the e-mail address, in any case;
// none when two share it, since then it names nobody for sure.
func personByEmail(dir *dsl.Directory, email string) (dsl.Person, bool) {
	var found []dsl.Person
	for _, p := range dir.People {
		if p.Email != "" && sameAddress(p.Email, email) {
			found = append(found, p)
		}
	}
	if len(found) != 1 {
		return dsl.Person{}, false
	}
	return found[0], true
}

// readSignInLink reads a sign-in link, or shows why it cannot be used.
func (s *Server) readSignInLink(w http.ResponseWriter, r *http.Request) (links.Link, incidentflow.Principal, bool) {
	l, err := s.cfg.Links.Parse(r.PathValue("token"), s.cfg.Now())
	problem := ""
	switch {
	case s.cfg.SignInLinks == nil:
		problem = "Sign-in links are not used here: sign in with the OpenID Provider."
	case errors.Is(err, links.ErrExpired):
		problem = "This sign-in link expired on " + s.clock(nil).When(l.ExpiresAt()) + ": ask for a new one."
	case err != nil || l.Action != links.SignIn:
		problem = "This is not a sign-in link incidentflow made. It may have been cut short when it was copied: ask for a new one."
	}
	var who incidentflow.Principal
	if problem == "" {
		if who, err = s.cfg.App.Principal(incidentflow.PersonPrincipal, l.Person, incidentflow.RoleAdmin); err != nil {
			problem = incidentflow.ErrorMessage(err)
		}
	}
	if problem != "" {
		// Only a link that is valid vouches for its person.
		principal, detail := l.Person, problem
		if err != nil || principal == "" {
			principal = dsl.AnonymousID
			if l.Person != "" {
				detail = "a link of " + l.Person + ": " + problem
			}
		}
		s.audit(r, store.AuditEntry{Principal: principal, Via: "link", Action: "sign in", Outcome: "denied",
			Status: http.StatusBadRequest, Detail: detail})
		s.renderSignIn(w, r, http.StatusBadRequest, signInPage{Next: "/"}, problem)
		return l, who, false
	}
	return l, who, true
}

// showSignInLink shows a sign-in link's one button: opening the link does
// nothing, so that a mail scanner opening it signs nobody in.
func (s *Server) showSignInLink(w http.ResponseWriter, r *http.Request) {
	l, who, ok := s.readSignInLink(w, r)
	if !ok {
		return
	}
	s.renderSignIn(w, r, http.StatusOK, signInPage{Person: who.Name, Link: &l, Next: localPath(l.Target)}, "")
}

// useSignInLink signs the link's person in, once.
func (s *Server) useSignInLink(w http.ResponseWriter, r *http.Request) {
	l, who, ok := s.readSignInLink(w, r)
	if !ok {
		return
	}
	if !s.checkCSRF(r, s.cookie(r, "csrf")) {
		s.renderSignIn(w, r, http.StatusForbidden, signInPage{Person: who.Name, Link: &l}, "This form is out of date: press the button again.")
		return
	}
	first, fresh, err := s.cfg.Store.UseLink(r.Context(), store.LinkUse{Nonce: l.Nonce, Action: l.Action, Target: "sign-in", Principal: who.String(), UsedAt: s.cfg.Now()})
	if err != nil {
		s.renderSignIn(w, r, http.StatusServiceUnavailable, signInPage{}, incidentflow.ErrorMessage(err))
		return
	}
	if !fresh {
		problem := "This sign-in link was used on " + s.clock(nil).When(first.UsedAt) + ": each works once. Ask for a new one."
		s.audit(r, store.AuditEntry{Principal: who.String(), Via: "link", Action: "sign in", Outcome: "refused", Status: http.StatusConflict, Detail: problem})
		s.renderSignIn(w, r, http.StatusConflict, signInPage{Next: localPath(l.Target)}, problem)
		return
	}
	s.startSession(w, r, who, "link", l.Target)
}

// sameAddress reports whether two e-mail addresses are one, ignoring the
// case of ASCII letters only: Unicode folding would make the Kelvin sign
// "K" a "k" and the long "ſ" an "s", and so an address at another domain
// the address it imitates.
func sameAddress(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range len(a) {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// Anyone may ask for a sign-in link in anyone's name, and each goes
// through the person's own channel (a pager, perhaps): a person is sent at
// most linksPerPerson in any linkWindow, by each replica.
const (
	linksPerPerson = 3
	linkWindow     = 10 * time.Minute
)

// linkBudget counts the sign-in links sent to each person recently.
type linkBudget struct {
	mu   sync.Mutex
	sent map[string][]time.Time
}

// admit reports whether a link may go to person at now, and counts it.
func (b *linkBudget) admit(person string, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.sent == nil {
		b.sent = map[string][]time.Time{}
	}
	for p, at := range b.sent { // forget what is past, so the map stays small
		at = slices.DeleteFunc(at, func(t time.Time) bool { return now.Sub(t) >= linkWindow || t.After(now) })
		if len(at) == 0 {
			delete(b.sent, p)
		} else {
			b.sent[p] = at
		}
	}
	if len(b.sent[person]) >= linksPerPerson {
		return false
	}
	b.sent[person] = append(b.sent[person], now)
	return true
}
