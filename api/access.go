package api

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/store"
)

// Caller is the authenticated principal of a request and how it was known.
type Caller struct {
	incidentflow.Principal
	// Via is how: token:ID, session, link.
	Via string
}

// callerKey is where authentication leaves the request's Caller.
const callerKey = "incidentflow.caller"

// caller returns the request's authenticated principal.
func caller(c *gin.Context) Caller { return c.MustGet(callerKey).(Caller) }

// callerID identifies who sends the request, for what belongs to them.
func callerID(c *gin.Context) string { return caller(c).String() }

// authenticate admits a request with a valid bearer token, as the token's
// principal, and anything else with a 401 in the one error shape. A
// person's token acts with the lesser of its role and the person's access
// in the directory; a person no longer in the directory is refused.
func (s *Server) authenticate(c *gin.Context) {
	header := c.GetHeader("Authorization")
	token, ok := strings.CutPrefix(header, "Bearer ")
	if !ok || token == "" {
		c.Header("WWW-Authenticate", `Bearer realm="incidentflow"`)
		s.fail(c, incidentflow.Errorf(incidentflow.EUNAUTHORIZED, "send an API token: Authorization: Bearer <token> (incidentflow token create)"))
		c.Abort()
		return
	}
	t, err := s.cfg.Store.TokenByHash(c.Request.Context(), store.HashToken(strings.TrimSpace(token)))
	if err == nil {
		var p incidentflow.Principal
		if p, err = s.Principal(t.Kind, t.Principal, t.Role); err == nil {
			c.Set(callerKey, Caller{Principal: p, Via: "token:" + t.ID})
			c.Next()
			return
		}
	}
	if incidentflow.ErrorCode(err) == incidentflow.EUNAUTHORIZED {
		c.Header("WWW-Authenticate", `Bearer realm="incidentflow", error="invalid_token"`)
	}
	s.fail(c, err)
	c.Abort()
}

// Principal is the principal of a kind and id, acting with role: a person
// must be in the directory, and acts at most with the access it gives them.
func (s *Server) Principal(kind, id, role string) (incidentflow.Principal, error) {
	p := incidentflow.Principal{Kind: kind, ID: id, Name: id, Role: role}
	if kind != incidentflow.PersonPrincipal {
		return p, nil
	}
	person, ok := s.cfg.Catalog.Directory.Person(id)
	if !ok {
		return p, incidentflow.Errorf(incidentflow.EUNAUTHORIZED, "%s is no longer in the directory: their tokens and sessions no longer work", id)
	}
	p.Name, p.Role = person.Name, incidentflow.CapRole(role, person.AccessRole())
	return p, nil
}

// require refuses, with a 403, a principal whose role lacks the permission.
func (s *Server) require(perm string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if who := caller(c); !who.Allows(perm) {
			s.fail(c, forbidden(who.Principal, perm))
			c.Abort()
			return
		}
		c.Next()
	}
}

// forbidden says what a principal's role does not allow.
func forbidden(p incidentflow.Principal, perm string) error {
	needs := map[string]string{incidentflow.PermRead: "viewer", incidentflow.PermDeclare: "declarer or responder",
		incidentflow.PermRespond: "responder", incidentflow.PermAdmin: "admin"}[perm]
	return incidentflow.Errorf(incidentflow.EFORBIDDEN, "%s is a %s, and this needs the %s role", p.Name, p.Role, needs)
}

// visibility is what of restricted incidents the request's principal sees:
// nil (everything) for admins; for a person, the process versions whose
// viewers name them or a team of theirs, the incidents whose roles they
// held and those that reached them; for a service, none.
func (s *Server) visibility(ctx context.Context, p incidentflow.Principal) (*store.Visibility, error) {
	if p.Role == incidentflow.RoleAdmin {
		return nil, nil
	}
	v := &store.Visibility{}
	if !p.IsPerson() {
		return v, nil
	}
	v.Person = p.ID
	restricted, err := s.cfg.Store.RestrictedProcesses(ctx)
	if err != nil {
		return nil, err
	}
	for _, rp := range restricted {
		if s.namesPerson(rp.Viewers, p.ID) {
			v.Hashes = append(v.Hashes, rp.Hash)
		}
	}
	return v, nil
}

// namesPerson reports whether targets name the person or a team of theirs.
// (A role: target names whoever holds the role of each incident, and every
// holder of a role sees the incident anyway.)
func (s *Server) namesPerson(targets []string, person string) bool {
	for _, t := range targets {
		kind, id, _ := strings.Cut(t, ":")
		switch kind {
		case "person":
			if id == person {
				return true
			}
		case "team":
			if team, ok := s.cfg.Catalog.Directory.Team(id); ok && slices.Contains(team.Members, person) {
				return true
			}
		}
	}
	return false
}

// auditedKey marks a read the audit log must hold: one of a restricted incident.
const auditedKey = "incidentflow.audited"

// Where handlers leave, for the audit log, the message of a request's error
// (fail does), what the request acted on when its path does not say (the
// incident it declared), and what it asked (decode leaves the body).
const (
	errorKey  = "incidentflow.error"
	targetKey = "incidentflow.target"
	detailKey = "incidentflow.detail"
)

// maxDetail is how much of a request's body its audit entry keeps.
const maxDetail = 500

// printable is text for the audit log: as it is when it is a printable line,
// else quoted, so that no byte a prober sends keeps an entry out of the log.
func printable(s string) string {
	if cut := utf8.UTFMax * maxDetail; len(s) > cut { // more than the entry keeps, whatever it holds
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	if incidentflow.CheckString(s, true, len(s)) != "" {
		s = strconv.QuoteToGraphic(s)
	}
	if r := []rune(s); len(r) > maxDetail { // the bound holds of what is written
		s = string(r[:maxDetail-1]) + "…"
	}
	return s
}

// audit writes every request that changes something, every one refused or
// denied, and every read of a restricted incident to the audit log, once
// it has been answered.
func (s *Server) audit(c *gin.Context) {
	c.Next()
	status := c.Writer.Status()
	if c.Request.Method == http.MethodGet && status < 400 && !c.GetBool(auditedKey) {
		return
	}
	e := store.AuditEntry{At: s.cfg.Now(), Principal: anonymous, Via: "token", Action: c.Request.Method + " " + routeOf(c),
		Target: printable(firstNonEmpty(c.GetString(targetKey), c.Param("ref"), c.Param("id"), c.Param("type"))),
		Status: status, Outcome: outcome(status),
		Detail: printable(firstNonEmpty(c.GetString(errorKey), c.GetString(detailKey)))}
	if v, ok := c.Get(callerKey); ok {
		who := v.(Caller)
		e.Principal, e.Via = who.String(), who.Via
	} else if status == http.StatusUnauthorized && !s.admitAnonymous(c.Request.Context(), remoteHost(c.Request.RemoteAddr), e.At) {
		return // counted in the minute's summary
	}
	s.appendAudit(c.Request.Context(), e)
}

// routeOf is the request's route pattern, or its path when none matched.
func routeOf(c *gin.Context) string {
	if r := c.FullPath(); r != "" {
		return r
	}
	return c.Request.URL.Path
}

// outcomes are what an audit entry's outcome may be.
var outcomes = []string{"done", "denied", "refused", "invalid", "failed"}

// outcome names how a request with the status ended, for the audit log.
func outcome(status int) string {
	switch {
	case status < 400:
		return "done"
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return "denied"
	case status == http.StatusConflict:
		return "refused"
	case status < 500:
		return "invalid"
	}
	return "failed"
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// Audit answers GET /v1/audit: the audit log from ?after= (a sequence
// number), oldest first, a page at a time, of one ?principal=, ?incident=
// (or any target), ?outcome=, ?since= and ?until= (RFC 3339 times) when asked.
func (s *Server) listAudit(c *gin.Context) {
	var details []incidentflow.Detail
	f := store.AuditFilter{Principal: c.Query("principal"), Target: c.Query("incident"), Outcome: c.Query("outcome")}
	if v := c.Query("after"); v != "" {
		if _, err := fmt.Sscan(v, &f.After); err != nil || f.After < 0 {
			details = append(details, incidentflow.Detail{Field: "after", Message: "must be the sequence number of an entry"})
		}
	}
	for name, v := range map[string]string{"principal": f.Principal, "incident": f.Target, "outcome": f.Outcome} {
		if msg := incidentflow.CheckString(v, true, maxDetail); msg != "" {
			details = append(details, incidentflow.Detail{Field: name, Message: msg})
		}
	}
	if f.Outcome != "" && !slices.Contains(outcomes, f.Outcome) {
		details = append(details, incidentflow.Detail{Field: "outcome", Message: "must be one of " + strings.Join(outcomes, ", ")})
	}
	for name, t := range map[string]*time.Time{"since": &f.Since, "until": &f.Until} {
		if v := c.Query(name); v != "" {
			parsed, err := time.Parse(time.RFC3339, v)
			if err != nil {
				details = append(details, incidentflow.Detail{Field: name, Message: "must be a time like 2026-12-01T09:00:00Z"})
			}
			*t = parsed
		}
	}
	f.Limit = queryLimit(c, &details)
	if len(details) > 0 {
		slices.SortFunc(details, func(a, b incidentflow.Detail) int { return strings.Compare(a.Field, b.Field) })
		s.fail(c, invalidQuery(details))
		return
	}
	if f.Limit == 0 {
		f.Limit = 100
	}
	entries, err := s.cfg.Store.FindAudit(c.Request.Context(), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	body := gin.H{"entries": entries, "next_after": nil}
	if len(entries) == f.Limit {
		body["next_after"] = entries[len(entries)-1].Seq
	}
	c.JSON(http.StatusOK, body)
}
