package store

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/incidentflow/incidentflow"
)

// Visibility narrows what a principal sees of restricted incidents: those
// of the process versions that name it among their viewers (Hashes), those
// whose roles it held, those that reached it. A nil *Visibility sees
// everything (admins); a service (Person "") sees no restricted incident.
type Visibility struct {
	Person string
	Hashes []string
}

// visibleWhere is the SQL condition, over the incidents table as alias t,
// that keeps what v may see, and its arguments.
func visibleWhere(t string, v *Visibility) (string, []any) {
	if v == nil {
		return "1 = 1", nil
	}
	cond := "NOT " + t + ".restricted"
	var args []any
	if len(v.Hashes) > 0 {
		cond += " OR " + t + ".process_hash IN (?" + strings.Repeat(", ?", len(v.Hashes)-1) + ")"
		for _, h := range v.Hashes {
			args = append(args, h)
		}
	}
	if v.Person != "" {
		cond += " OR " + t + ".ref IN (SELECT incident_ref FROM incident_roles WHERE person = ?)" +
			" OR " + t + ".ref IN (SELECT incident_ref FROM deliveries WHERE recipient = ? AND status = 'sent')"
		args = append(args, v.Person, "person:"+v.Person)
	}
	return "(" + cond + ")", args
}

// VisibleIncident returns the incident with the ref if v may see it, and
// ENOTFOUND otherwise: to anyone else, a restricted incident does not exist.
func (s *Store) VisibleIncident(ctx context.Context, ref string, v *Visibility) (incidentflow.Incident, error) {
	cond, args := visibleWhere("incidents", v)
	return s.incidentWhere(ctx, s.db, "ref = ? AND "+cond, append([]any{ref}, args...)...)
}

// IncidentRoles returns who holds each role of an incident now.
func (s *Store) IncidentRoles(ctx context.Context, ref string) (map[string]string, error) {
	var rows []struct {
		Role   string `db:"role"`
		Person string `db:"person"`
	}
	err := s.db.SelectContext(ctx, &rows, s.db.Rebind(`SELECT role, person FROM incident_roles WHERE incident_ref = ? ORDER BY id`), ref)
	out := map[string]string{}
	for _, r := range rows {
		out[r.Role] = r.Person
	}
	return out, wrap(err, "read roles")
}

func (s *Store) insertRole(ctx context.Context, tx *sqlx.Tx, ref string, a incidentflow.RoleAssignment) error {
	_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO incident_roles (incident_ref, role, person, assigned_by, assigned_at, dedup_key)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (dedup_key) DO NOTHING`), ref, a.Role, a.Person, a.By, a.At.UTC(), a.DedupKey)
	return err
}

// AuditEntry is one line of the audit log: who did what to what, how it
// ended, chained to the line before it by its hash.
type AuditEntry struct {
	Seq       int64     `json:"seq" db:"seq"`
	At        time.Time `json:"at" db:"at"`
	Principal string    `json:"principal" db:"principal"`
	// Via is how the principal was known: token:ID, session, link, cli.
	Via    string `json:"via" db:"via"`
	Action string `json:"action" db:"action"`
	Target string `json:"target,omitempty" db:"target"`
	// Outcome is done, refused (the incident said no), denied (not
	// allowed), invalid (a bad request) or failed.
	Outcome  string `json:"outcome" db:"outcome"`
	Status   int    `json:"status,omitempty" db:"status"`
	Detail   string `json:"detail,omitempty" db:"detail"`
	PrevHash string `json:"prev_hash" db:"prev_hash"`
	Hash     string `json:"hash" db:"hash"`
}

// auditLockID serialises appends to the audit log on PostgreSQL.
const auditLockID = 7_424_310_043

// AuditKey is the key the audit log's chain is made under, derived from a
// deployment's secret: whoever can write to the database but does not hold
// the secret cannot make a changed log's chain hold again.
func AuditKey(secret []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("incidentflow audit log"))
	return m.Sum(nil)
}

// SetAuditKey sets the key (see AuditKey) the store chains audit entries
// under; without one the chain is plain SHA-256, which shows accidental
// change but not a forger's.
func (s *Store) SetAuditKey(key []byte) { s.auditKey = key }

// AuditHash is the hash an entry carries: HMAC-SHA256 under the key (plain
// SHA-256 without one) over the previous entry's hash and the entry's own
// fields, so that changing, removing or reordering any entry breaks every
// hash after it.
func AuditHash(key []byte, e AuditEntry) string {
	b, _ := json.Marshal([]any{e.PrevHash, e.Seq, e.At.UTC().Format(time.RFC3339Nano), e.Principal, e.Via, e.Action, e.Target, e.Outcome, e.Status, e.Detail})
	if key == nil {
		sum := sha256.Sum256(b)
		return hex.EncodeToString(sum[:])
	}
	m := hmac.New(sha256.New, key)
	m.Write(b)
	return hex.EncodeToString(m.Sum(nil))
}

// AppendAudit adds an entry at the end of the audit log and returns it as
// stored, numbered and chained.
func (s *Store) AppendAudit(ctx context.Context, e AuditEntry) (AuditEntry, error) {
	for attempt := 0; ; attempt++ {
		err := s.inTx(ctx, func(tx *sqlx.Tx) error {
			if s.dialect == Postgres {
				if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, auditLockID); err != nil {
					return err
				}
			}
			var last struct {
				Seq  int64  `db:"seq"`
				Hash string `db:"hash"`
			}
			err := tx.GetContext(ctx, &last, `SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			e.Seq, e.PrevHash = last.Seq+1, last.Hash
			// Both databases keep microseconds: hash what is kept.
			e.At = e.At.UTC().Truncate(time.Microsecond)
			e.Hash = AuditHash(s.auditKey, e)
			_, err = tx.ExecContext(ctx, tx.Rebind(`INSERT INTO audit_log (seq, at, principal, via, action, target, outcome, status, detail, prev_hash, hash)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`), e.Seq, e.At, e.Principal, e.Via, e.Action, e.Target, e.Outcome, e.Status, e.Detail, e.PrevHash, e.Hash)
			return err
		})
		if err == nil {
			return e, nil
		}
		if !isUniqueViolation(err) || attempt >= 20 {
			return e, wrap(err, "append audit")
		}
	}
}

// Audit returns up to limit entries of the audit log after seq, in order.
func (s *Store) Audit(ctx context.Context, after int64, limit int) ([]AuditEntry, error) {
	return s.FindAudit(ctx, AuditFilter{After: after, Limit: limit})
}

// AuditFilter narrows the audit log: entries after a sequence number, of
// one principal, target (an incident's ref, a task), outcome, or within a
// time; empty fields keep everything.
type AuditFilter struct {
	After                      int64
	Limit                      int
	Principal, Target, Outcome string
	Since, Until               time.Time
}

// FindAudit returns the entries of the audit log f keeps, oldest first.
func (s *Store) FindAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	where, args := "seq > ?", []any{f.After}
	for col, v := range map[string]string{"principal": f.Principal, "target": f.Target, "outcome": f.Outcome} {
		if v != "" {
			where += " AND " + col + " = ?"
			args = append(args, v)
		}
	}
	if !f.Since.IsZero() {
		where += " AND at >= ?"
		args = append(args, f.Since.UTC())
	}
	if !f.Until.IsZero() {
		where += " AND at < ?"
		args = append(args, f.Until.UTC())
	}
	out := []AuditEntry{}
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT seq, at, principal, via, action, target, outcome, status, detail, prev_hash, hash
		FROM audit_log WHERE `+where+` ORDER BY seq LIMIT ?`), append(args, f.Limit)...)
	for i := range out {
		out[i].At = out[i].At.UTC()
	}
	return out, wrap(err, "read audit")
}

// VerifyAudit checks, under the key the log was chained with, a run of
// entries of the audit log, the first of which follows prev (the hash of
// the entry before it, "" at the start): each
// must be numbered after the one before, point at its hash, and carry its
// own. It returns the hash of the last, or an error naming the first entry
// that breaks the chain.
func VerifyAudit(key []byte, entries []AuditEntry, prevSeq int64, prev string) (string, error) {
	return (&AuditKeys{Current: key}).Verify(entries, prevSeq, prev)
}

// AuditKeys are the keys an audit log was chained under: the current one,
// and, across a rotation of the secret, the one before. Entries chained
// under the previous key verify with it until the first entry under the
// current one; after that every entry must be under the current key, so
// that whoever holds the old secret cannot add to the log.
type AuditKeys struct {
	Current, Previous []byte
	rotated           bool
}

// Verify is VerifyAudit under the keys, carrying across calls (pages of
// the log) whether the rotation was passed.
func (k *AuditKeys) Verify(entries []AuditEntry, prevSeq int64, prev string) (string, error) {
	for _, e := range entries {
		switch {
		case e.Seq != prevSeq+1:
			return prev, fmt.Errorf("entry %d follows entry %d: entries are missing", e.Seq, prevSeq)
		case e.PrevHash != prev:
			return prev, fmt.Errorf("entry %d does not follow the entry before it: its prev_hash is %.12s…, the entry before hashes to %.12s…", e.Seq, e.PrevHash, prev)
		case AuditHash(k.Current, e) == e.Hash:
			k.rotated = true
		case k.Previous != nil && !k.rotated && AuditHash(k.Previous, e) == e.Hash:
		default:
			return prev, fmt.Errorf("entry %d was changed: its content hashes to %.12s…, not its recorded %.12s…", e.Seq, AuditHash(k.Current, e), e.Hash)
		}
		prevSeq, prev = e.Seq, e.Hash
	}
	return prev, nil
}

// LinkUse is the first use of an action link that acts once.
type LinkUse struct {
	Nonce     string    `db:"nonce"`
	Action    string    `db:"action"`
	Target    string    `db:"target"`
	Principal string    `db:"principal"`
	UsedAt    time.Time `db:"used_at"`
}

// UseLink records the use of an action link, unless it was used before:
// then it returns that first use and first=false.
func (s *Store) UseLink(ctx context.Context, u LinkUse) (LinkUse, bool, error) {
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO link_uses (nonce, action, target, principal, used_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (nonce) DO NOTHING`), u.Nonce, u.Action, u.Target, u.Principal, u.UsedAt.UTC())
	if err != nil {
		return u, false, wrap(err, "use link")
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return u, true, nil
	}
	first, _, err := s.LinkUsed(ctx, u.Nonce)
	return first, false, err
}

// LinkUsed returns the use of an action link, if it was used.
func (s *Store) LinkUsed(ctx context.Context, nonce string) (LinkUse, bool, error) {
	var u LinkUse
	err := s.db.GetContext(ctx, &u, s.db.Rebind(`SELECT nonce, action, target, principal, used_at FROM link_uses WHERE nonce = ?`), nonce)
	if errors.Is(err, sql.ErrNoRows) {
		return u, false, nil
	}
	u.UsedAt = u.UsedAt.UTC()
	return u, err == nil, wrap(err, "read link use")
}

// Session is a signed-in person's session.
type Session struct {
	Person    string    `db:"principal_id"`
	CSRF      string    `db:"csrf"`
	CreatedAt time.Time `db:"created_at"`
	ExpiresAt time.Time `db:"expires_at"`
}

// CreateSession signs a person in for ttl and returns the session's secret
// id, for the cookie (only its hash is stored), and the session.
func (s *Store) CreateSession(ctx context.Context, person string, ttl time.Duration) (string, Session, error) {
	id, err := randomToken()
	if err != nil {
		return "", Session{}, err
	}
	csrf, err := randomToken()
	if err != nil {
		return "", Session{}, err
	}
	now := s.now()
	sess := Session{Person: person, CSRF: csrf, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	_, err = s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO sessions (id_hash, principal_id, csrf, created_at, expires_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?)`),
		HashToken(id), person, csrf, now, sess.ExpiresAt, now)
	return id, sess, wrap(err, "create session")
}

// SessionByID returns the unexpired session with the secret id, or EUNAUTHORIZED.
func (s *Store) SessionByID(ctx context.Context, id string) (Session, error) {
	var sess Session
	err := s.db.GetContext(ctx, &sess, s.db.Rebind(`SELECT principal_id, csrf, created_at, expires_at FROM sessions WHERE id_hash = ? AND expires_at > ?`),
		HashToken(id), s.now())
	if errors.Is(err, sql.ErrNoRows) {
		return sess, incidentflow.Errorf(incidentflow.EUNAUTHORIZED, "the session has ended: sign in again")
	}
	sess.CreatedAt, sess.ExpiresAt = sess.CreatedAt.UTC(), sess.ExpiresAt.UTC()
	return sess, wrap(err, "read session")
}

// EndSession signs a session out.
func (s *Store) EndSession(ctx context.Context, id string) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM sessions WHERE id_hash = ?`), HashToken(id))
	return wrap(err, "end session")
}

// PruneSessions removes the sessions that have expired.
func (s *Store) PruneSessions(ctx context.Context) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM sessions WHERE expires_at <= ?`), s.now())
	return wrap(err, "prune sessions")
}

// randomToken is 32 random bytes, URL-safe.
func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
