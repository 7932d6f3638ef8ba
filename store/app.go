package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/incidentflow/incidentflow"
)

// This file holds what the web app reads beyond the API's lists: what
// waits for a person, how far an incident's record has moved (for live
// pages), the figures behind the insights, and the sign-in flows in
// progress. Every read of incidents keeps to a Visibility.

// Version says how far an incident's record has moved: when it last
// changed, and how many timeline events it has (its own count: event ids
// are numbered across all incidents, and would count the restricted ones)
// plus its run's state version. A page showing the incident is out of date when the version moved on.
func (s *Store) Version(ctx context.Context, ref string) (time.Time, int64, error) {
	var row struct {
		UpdatedAt time.Time     `db:"updated_at"`
		LastEvent sql.NullInt64 `db:"last_event"`
	}
	// A state published on its own moves the version too.
	err := s.db.GetContext(ctx, &row, s.db.Rebind(`SELECT updated_at,
		(SELECT count(*) FROM timeline_events WHERE incident_ref = ?) +
		COALESCE((SELECT version FROM run_states WHERE incident_ref = ?), 0) AS last_event FROM incidents WHERE ref = ?`), ref, ref, ref)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, 0, incidentflow.Errorf(incidentflow.ENOTFOUND, "no incident %s", ref)
	}
	return row.UpdatedAt.UTC(), row.LastEvent.Int64, wrap(err, "read version of "+ref)
}

// Involvement is how an open incident concerns a person: the roles they
// hold on it now, and whether they were paged for it.
type Involvement struct {
	Incident incidentflow.Incident
	Roles    []string
	Paged    bool
}

// Involvements lists the incidents still open (not closed or declined)
// whose roles the person holds now or for which they were paged, newest
// first, as v may see them.
func (s *Store) Involvements(ctx context.Context, person string, v *Visibility) ([]Involvement, error) {
	var roles []struct {
		Ref  string `db:"incident_ref"`
		Role string `db:"role"`
	}
	// The latest assignment of a role is who holds it.
	if err := s.db.SelectContext(ctx, &roles, s.db.Rebind(`SELECT r.incident_ref, r.role FROM incident_roles r
		WHERE r.person = ? AND r.id = (SELECT max(x.id) FROM incident_roles x WHERE x.incident_ref = r.incident_ref AND x.role = r.role)
		ORDER BY r.id`), person); err != nil {
		return nil, wrap(err, "read roles of "+person)
	}
	var paged []string
	// A page's deliveries are keyed …/round-N/level-M/person:ID.
	if err := s.db.SelectContext(ctx, &paged, s.db.Rebind(`SELECT DISTINCT incident_ref FROM deliveries
		WHERE recipient = ? AND status = 'sent' AND key LIKE '%/round-%/level-%'`), "person:"+person); err != nil {
		return nil, wrap(err, "read pages of "+person)
	}
	byRef := map[string]*Involvement{}
	var refs []string
	add := func(ref string) *Involvement {
		if byRef[ref] == nil {
			byRef[ref] = &Involvement{}
			refs = append(refs, ref)
		}
		return byRef[ref]
	}
	for _, r := range roles {
		in := add(r.Ref)
		if !slices.Contains(in.Roles, r.Role) {
			in.Roles = append(in.Roles, r.Role)
		}
	}
	for _, ref := range paged {
		add(ref).Paged = true
	}
	if len(refs) == 0 {
		return []Involvement{}, nil
	}
	cond, args := visibleWhere("incidents", v)
	where := "ref IN (?" + strings.Repeat(", ?", len(refs)-1) + ") AND status NOT IN ('closed', 'declined') AND " + cond + " ORDER BY number DESC"
	all := make([]any, 0, len(refs)+len(args))
	for _, r := range refs {
		all = append(all, r)
	}
	list, err := s.incidentsWhere(ctx, s.db, where, append(all, args...)...)
	if err != nil {
		return nil, err
	}
	out := make([]Involvement, len(list))
	for i, inc := range list {
		out[i] = *byRef[inc.Ref]
		out[i].Incident = inc
	}
	return out, nil
}

// OpenTasks lists the open follow-ups a person owns, soonest due first
// (those without a due time last), on incidents v may see.
func (s *Store) OpenTasks(ctx context.Context, owner string, v *Visibility) ([]incidentflow.Task, error) {
	cond, args := visibleWhere("i", v)
	out := []incidentflow.Task{}
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT t.id, t.incident_ref, t.step, t.title, t.description, t.owner, t.due_at,
		t.status, t.done_by, t.done_at, t.note, t.created_at
		FROM tasks t JOIN incidents i ON i.ref = t.incident_ref
		WHERE t.owner = ? AND t.status = 'open' AND `+cond+`
		ORDER BY CASE WHEN t.due_at IS NULL THEN 1 ELSE 0 END, t.due_at, t.created_at, t.id LIMIT 200`), append([]any{owner}, args...)...)
	return out, wrap(err, "read tasks of "+owner)
}

// IncidentTimes is when an incident was declared, acknowledged and
// resolved: what the insights count and average.
type IncidentTimes struct {
	Ref            string     `db:"ref"`
	Type           string     `db:"type"`
	Severity       string     `db:"severity"`
	Status         string     `db:"status"`
	DeclaredAt     time.Time  `db:"declared_at"`
	AcknowledgedAt *time.Time `db:"acknowledged_at"`
	ResolvedAt     *time.Time `db:"resolved_at"`
}

// Times lists the incidents declared from since on, oldest first, as v
// may see them.
func (s *Store) Times(ctx context.Context, since time.Time, v *Visibility) ([]IncidentTimes, error) {
	cond, args := visibleWhere("incidents", v)
	out := []IncidentTimes{}
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT ref, type, severity, status, declared_at, acknowledged_at, resolved_at
		FROM incidents WHERE declared_at >= ? AND `+cond+` ORDER BY declared_at, number`), append([]any{since.UTC()}, args...)...)
	for i := range out {
		out[i].DeclaredAt = out[i].DeclaredAt.UTC()
		out[i].AcknowledgedAt, out[i].ResolvedAt = utc(out[i].AcknowledgedAt), utc(out[i].ResolvedAt)
	}
	return out, wrap(err, "read incident times")
}

// DeadlineCount is how many clocks of one incident type and title ended
// (or stand) in a status.
type DeadlineCount struct {
	Type   string `db:"type"`
	Title  string `db:"title"`
	Status string `db:"status"`
	Count  int    `db:"n"`
}

// DeadlineCounts counts the clocks falling due from since on, by
// incident type, clock title and status, as v may see them.
func (s *Store) DeadlineCounts(ctx context.Context, since time.Time, v *Visibility) ([]DeadlineCount, error) {
	cond, args := visibleWhere("i", v)
	out := []DeadlineCount{}
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT i.type, d.title, d.status, count(*) AS n
		FROM deadlines d JOIN incidents i ON i.ref = d.incident_ref
		WHERE d.due_at >= ? AND `+cond+` GROUP BY i.type, d.title, d.status ORDER BY i.type, d.title, d.status`), append([]any{since.UTC()}, args...)...)
	return out, wrap(err, "count deadlines")
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// SignInFlow is a sign-in with an OpenID Provider under way: what the
// browser must bring back (its state, only its hash kept) and what only
// the server knows (the PKCE verifier, the nonce).
type SignInFlow struct {
	StateHash string    `db:"state_hash"`
	Verifier  string    `db:"verifier"`
	Nonce     string    `db:"nonce"`
	Next      string    `db:"next"`
	ExpiresAt time.Time `db:"expires_at"`
}

// BeginSignIn records a sign-in flow under its state.
func (s *Store) BeginSignIn(ctx context.Context, state string, f SignInFlow) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO signin_flows (state_hash, verifier, nonce, next, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?)`), HashToken(state), f.Verifier, f.Nonce, f.Next, s.now(), f.ExpiresAt.UTC())
	return wrap(err, "begin sign-in")
}

// FinishSignIn takes the sign-in flow with the state, once: a second
// call, an unknown state or an expired flow is EUNAUTHORIZED.
func (s *Store) FinishSignIn(ctx context.Context, state string) (SignInFlow, error) {
	// One statement reads and deletes the row, so that of two callbacks
	// with the same state at the same moment only one is handed the flow.
	var f SignInFlow
	err := s.db.GetContext(ctx, &f, s.db.Rebind(`DELETE FROM signin_flows WHERE state_hash = ? RETURNING state_hash, verifier, nonce, next, expires_at`), HashToken(state))
	if errors.Is(err, sql.ErrNoRows) || err == nil && !s.now().Before(f.ExpiresAt) {
		return f, incidentflow.Errorf(incidentflow.EUNAUTHORIZED, "this sign-in is unknown, was finished already or took too long: start again")
	}
	return f, wrap(err, "finish sign-in")
}

// PruneSignIns removes the sign-in flows that expired unfinished.
func (s *Store) PruneSignIns(ctx context.Context) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM signin_flows WHERE expires_at <= ?`), s.now())
	return wrap(err, "prune sign-ins")
}
