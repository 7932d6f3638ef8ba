package web

import (
	"context"
	"crypto/hmac"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/store"
)

// OIDCConfig is the app's registration with an OpenID Provider.
type OIDCConfig struct {
	// Issuer is the provider's issuer URL, exactly as it names itself.
	Issuer       string
	ClientID     string
	ClientSecret string
}

// signInWindow is how long a person has to finish signing in at the provider.
const signInWindow = 10 * time.Minute

// provider is the OpenID Provider, discovered on first use (so that the
// app starts while the provider is down) and remembered once found.
type provider struct {
	cfg      OIDCConfig
	redirect string
	client   *http.Client

	mu       sync.Mutex
	oidc     *oidc.Provider
	verifier *oidc.IDTokenVerifier
}

func newProvider(cfg OIDCConfig, redirect string) *provider {
	return &provider{cfg: cfg, redirect: redirect, client: &http.Client{Timeout: 10 * time.Second}}
}

// discover finds the provider's endpoints and keys.
func (p *provider) discover(ctx context.Context) (*oidc.Provider, *oidc.IDTokenVerifier, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.oidc == nil {
		op, err := oidc.NewProvider(oidc.ClientContext(ctx, p.client), p.cfg.Issuer)
		if err != nil {
			return nil, nil, &incidentflow.Error{Code: incidentflow.EUNAVAILABLE, Message: "the OpenID Provider " + p.cfg.Issuer + " cannot be reached", Err: err}
		}
		p.oidc, p.verifier = op, op.Verifier(&oidc.Config{ClientID: p.cfg.ClientID})
	}
	return p.oidc, p.verifier, nil
}

func (p *provider) oauth2(op *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: p.cfg.ClientID, ClientSecret: p.cfg.ClientSecret, Endpoint: op.Endpoint(),
		RedirectURL: p.redirect, Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}
}

// startOIDC sends the browser to the provider, with a fresh state (kept in
// a cookie, to be brought back), a nonce and a PKCE challenge whose
// verifier stays with the server.
func (s *Server) startOIDC(w http.ResponseWriter, r *http.Request) {
	if s.oidc == nil {
		s.problemPage(w, r, http.StatusNotFound, "Not found", "No OpenID Provider is set up here.")
		return
	}
	op, _, err := s.oidc.discover(r.Context())
	if err != nil {
		s.cfg.Logger.Warn("OpenID Provider discovery failed", "error", err)
		s.renderSignIn(w, r, http.StatusServiceUnavailable, signInPage{}, incidentflow.ErrorMessage(err)+": try again shortly.")
		return
	}
	state, nonce, verifier := random(), random(), oauth2.GenerateVerifier()
	flow := store.SignInFlow{Verifier: verifier, Nonce: nonce, Next: localPath(r.URL.Query().Get("next")), ExpiresAt: s.cfg.Now().Add(signInWindow)}
	if err := s.cfg.Store.BeginSignIn(r.Context(), state, flow); err != nil {
		s.renderSignIn(w, r, http.StatusServiceUnavailable, signInPage{}, incidentflow.ErrorMessage(err))
		return
	}
	s.setCookie(w, "signin", state, signInWindow)
	http.Redirect(w, r, s.oidc.oauth2(op).AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), http.StatusFound)
}

// claims are what the app reads of a person from the provider.
type claims struct {
	Subject  string `json:"sub"`
	Email    string `json:"email"`
	Verified any    `json:"email_verified"` // true, or "true" from some providers
	Nonce    string `json:"nonce"`
}

func (c claims) verified() bool {
	switch v := c.Verified.(type) {
	case bool:
		return v
	case string:
		b, _ := strconv.ParseBool(v)
		return b
	}
	return false
}

// finishOIDC takes the provider's answer: the state must be the one this
// browser was given, the flow unused, the ID token valid with our nonce,
// and the e-mail address verified and that of one person of the directory.
func (s *Server) finishOIDC(w http.ResponseWriter, r *http.Request) {
	if s.oidc == nil {
		s.problemPage(w, r, http.StatusNotFound, "Not found", "No OpenID Provider is set up here.")
		return
	}
	q := r.URL.Query()
	refuse := func(status int, who, problem string, err error) {
		if err != nil {
			s.cfg.Logger.Warn("OpenID sign-in refused", "error", err)
		}
		s.audit(r, store.AuditEntry{Principal: firstOf(who, dsl.AnonymousID), Via: "oidc", Action: "sign in", Outcome: "denied", Status: status, Detail: problem})
		s.renderSignIn(w, r, status, signInPage{}, problem)
	}
	if e := q.Get("error"); e != "" {
		// Anyone can write a link to this page: it shows no text of the
		// query, only what a known error code means.
		refuse(http.StatusUnauthorized, "", "The OpenID Provider did not sign you in: "+providerError(e)+" Sign in again, or ask whoever runs the OpenID Provider.", nil)
		return
	}
	state := q.Get("state")
	cookie := s.cookie(r, "signin")
	s.setCookie(w, "signin", "", -1)
	if state == "" || cookie == "" || !hmac.Equal([]byte(state), []byte(cookie)) {
		refuse(http.StatusBadRequest, "", "This sign-in was not started in this browser (or took too long): start again.", nil)
		return
	}
	flow, err := s.cfg.Store.FinishSignIn(r.Context(), state)
	if err != nil {
		refuse(http.StatusBadRequest, "", incidentflow.ErrorMessage(err), nil)
		return
	}
	op, verifier, err := s.oidc.discover(r.Context())
	if err != nil {
		refuse(http.StatusServiceUnavailable, "", incidentflow.ErrorMessage(err)+": try again shortly.", err)
		return
	}
	ctx := oidc.ClientContext(r.Context(), s.oidc.client)
	conf := s.oidc.oauth2(op)
	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(flow.Verifier))
	if err != nil {
		refuse(http.StatusBadGateway, "", "The OpenID Provider did not accept the sign-in's code: start again.", err)
		return
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok {
		refuse(http.StatusBadGateway, "", "The OpenID Provider sent no ID token.", nil)
		return
	}
	idToken, err := verifier.Verify(ctx, raw)
	if err != nil {
		refuse(http.StatusUnauthorized, "", "The OpenID Provider's ID token is not valid: start again.", err)
		return
	}
	var c claims
	if err := idToken.Claims(&c); err != nil || !hmac.Equal([]byte(c.Nonce), []byte(flow.Nonce)) {
		refuse(http.StatusUnauthorized, "", "The ID token does not belong to this sign-in: start again.", err)
		return
	}
	if c.Email == "" {
		// Some providers keep the e-mail address for the userinfo endpoint.
		info, err := op.UserInfo(ctx, conf.TokenSource(ctx, tok))
		if err != nil || info.Subject != idToken.Subject {
			refuse(http.StatusBadGateway, "", "The OpenID Provider did not say who you are (no e-mail address).", err)
			return
		}
		if err := info.Claims(&c); err != nil {
			refuse(http.StatusBadGateway, "", "The OpenID Provider's answer about you could not be read.", err)
			return
		}
	}
	s.admit(w, r, c, flow.Next, refuse)
}

// admit signs in the person of the directory with the claims' e-mail
// address, which the provider must have verified.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, c claims, next string, refuse func(int, string, string, error)) {
	switch {
	case c.Email == "":
		refuse(http.StatusForbidden, "", "The OpenID Provider gave no e-mail address for you, and people are known here by theirs.", nil)
		return
	case !c.verified():
		refuse(http.StatusForbidden, "", "Your e-mail address "+c.Email+" is not verified by the OpenID Provider. Verify it there, then sign in again.", nil)
		return
	}
	person, ok := personByEmail(s.cfg.App.Catalog().Directory, c.Email)
	if !ok {
		refuse(http.StatusForbidden, "", "Nobody in incidentflow's directory has the e-mail address "+c.Email+". Ask whoever keeps the directory (directory.yaml) to add you with it.", nil)
		return
	}
	who, err := s.cfg.App.Principal(incidentflow.PersonPrincipal, person.ID, incidentflow.RoleAdmin)
	if err != nil {
		refuse(http.StatusForbidden, person.ID, incidentflow.ErrorMessage(err), nil)
		return
	}
	s.startSession(w, r, who, "oidc", next)
}

// providerError says in words what an OpenID Provider's error code means
// (OAuth 2.0, RFC 6749 §4.1.2.1, and OpenID Connect Core §3.1.2.6).
func providerError(code string) string {
	switch code {
	case "access_denied":
		return "you (or the provider) declined."
	case "login_required", "interaction_required", "account_selection_required":
		return "it needs you to sign in there first."
	case "consent_required":
		return "it needs your consent to share who you are with incidentflow."
	case "temporarily_unavailable", "server_error":
		return "it had a problem of its own."
	case "invalid_request", "unauthorized_client", "unsupported_response_type", "invalid_scope", "invalid_request_uri", "invalid_request_object", "request_not_supported", "request_uri_not_supported", "registration_not_supported":
		return "incidentflow's client is not set up as the provider expects (" + code + ")."
	}
	return "it answered with an error."
}
