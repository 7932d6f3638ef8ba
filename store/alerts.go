package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/incidentflow/incidentflow"
)

// Alert is one alert of a monitoring system (Alertmanager, Grafana) and the
// incident it belongs to.
type Alert struct {
	Source      string     `db:"source"`
	Fingerprint string     `db:"fingerprint"`
	Ref         string     `db:"incident_ref"`
	AlertName   string     `db:"alertname"`
	Status      string     `db:"status"` // firing or resolved
	StartsAt    *time.Time `db:"starts_at"`
	UpdatedAt   time.Time  `db:"updated_at"`
	// IncidentStatus is its incident's status, as read (LatestAlerts).
	IncidentStatus string `db:"incident_status"`
}

// LatestAlert returns the most recent incident's record of the fingerprint,
// open or not, or ENOTFOUND.
func (s *Store) LatestAlert(ctx context.Context, source, fingerprint string) (Alert, error) {
	var a Alert
	err := s.db.GetContext(ctx, &a, s.db.Rebind(`SELECT `+alertColumns+`
		FROM alerts a JOIN incidents i ON i.ref = a.incident_ref
		WHERE a.source = ? AND a.fingerprint = ? ORDER BY i.number DESC LIMIT 1`), source, fingerprint)
	if errors.Is(err, sql.ErrNoRows) {
		return a, incidentflow.Errorf(incidentflow.ENOTFOUND, "no incident has alert %s", fingerprint)
	}
	return a, wrap(err, "read alert")
}

const alertColumns = `a.source, a.fingerprint, a.incident_ref, a.alertname, a.status, a.starts_at, a.updated_at, i.status AS incident_status`

// LatestAlerts is LatestAlert for many fingerprints of a source at once:
// the latest incident's record of each that has one.
func (s *Store) LatestAlerts(ctx context.Context, source string, fingerprints []string) (map[string]Alert, error) {
	out := map[string]Alert{}
	for first := 0; first < len(fingerprints); first += alertChunk {
		q, args, err := sqlx.In(`SELECT `+alertColumns+` FROM alerts a JOIN incidents i ON i.ref = a.incident_ref
			WHERE a.source = ? AND a.fingerprint IN (?) ORDER BY i.number`, source, fingerprints[first:min(first+alertChunk, len(fingerprints))])
		if err != nil {
			return nil, wrap(err, "read alerts")
		}
		var rows []Alert
		if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(q), args...); err != nil {
			return nil, wrap(err, "read alerts")
		}
		for _, a := range rows { // in the order of their incidents: the latest last
			out[a.Fingerprint] = a
		}
	}
	return out, nil
}

// SaveAlert records the alert's state against its incident and returns the
// status it had before ("" when it is new to the incident). Concurrent saves
// of one alert each see a status before them, so only one of them sees it
// change: an alert is firing or resolved, and a save that changes it is the
// one that finds it the other way.
func (s *Store) SaveAlert(ctx context.Context, a Alert) (string, error) {
	var before string
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		now := s.now()
		res, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO alerts (source, fingerprint, incident_ref, alertname, status, starts_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (source, fingerprint, incident_ref) DO NOTHING`),
			a.Source, a.Fingerprint, a.Ref, a.AlertName, a.Status, a.StartsAt, now)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		res, err = tx.ExecContext(ctx, tx.Rebind(`UPDATE alerts SET status = ?, starts_at = ?, updated_at = ?
			WHERE source = ? AND fingerprint = ? AND incident_ref = ? AND status <> ?`),
			a.Status, a.StartsAt, now, a.Source, a.Fingerprint, a.Ref, a.Status)
		if err != nil {
			return err
		}
		before = a.Status
		if n, _ := res.RowsAffected(); n == 1 {
			before = map[string]string{"firing": "resolved", "resolved": "firing"}[a.Status]
		}
		return nil
	})
	return before, wrap(err, "save alert")
}

// AlertDeclaration is a firing alert that declares Incident (as
// CreateIncident takes it, its idempotency key left to DeclareAlerts)
// unless its fingerprint's claim holds an open incident already.
type AlertDeclaration struct {
	Alert    Alert
	Incident incidentflow.Incident
}

// DeclaredAlert is what DeclareAlerts did with one declaration: the
// incident the alert belongs to, and whether this call declared it (its run
// is then still to start).
type DeclaredAlert struct {
	Incident incidentflow.Incident
	Created  bool
}

// alertChunk is how many alerts one transaction of DeclareAlerts takes, so
// that a notification of thousands does not hold the database (SQLite's
// one connection) for seconds at a stretch.
const alertChunk = 250

// DeclareAlerts records firing alerts in bulk: each fingerprint's claim
// (the next generation when its incident is over), the incident it
// declares when no open one holds the claim, and the alert against that
// incident — a few hundred alerts in a transaction, and no run started:
// the caller starts the created incidents' runs (and the reconciler does,
// should it die first). Concurrent calls for one fingerprint declare one
// incident: each transaction takes the incident counters' locks first, so
// they follow one another, and an alert whose claim holds an incident gets
// that incident with Created false. Results are in the order of ds; when
// a transaction fails, those of the ones before it, which are kept, come
// with the error.
func (s *Store) DeclareAlerts(ctx context.Context, ds []AlertDeclaration) ([]DeclaredAlert, error) {
	out := make([]DeclaredAlert, len(ds))
	for first := 0; first < len(ds); first += alertChunk {
		chunk := ds[first:min(first+alertChunk, len(ds))]
		for attempt := 0; ; attempt++ {
			err := s.inTx(ctx, func(tx *sqlx.Tx) error {
				if s.dialect == Postgres {
					if _, err := tx.ExecContext(ctx, `SELECT value FROM counters WHERE name IN ('incident', 'ref') ORDER BY name FOR UPDATE`); err != nil {
						return err
					}
				}
				for i, d := range chunk {
					res, err := s.declareAlert(ctx, tx, d)
					if err != nil {
						return err
					}
					out[first+i] = res
				}
				return nil
			})
			if err == nil {
				break
			}
			// A restricted incident's random ref may, by the odd chance,
			// be another's.
			if !isUniqueViolation(err) || attempt >= 3 {
				return out[:first], wrap(err, "declare alerts")
			}
		}
	}
	return out, nil
}

// declareAlert is DeclareAlerts for one alert, in its transaction.
func (s *Store) declareAlert(ctx context.Context, tx *sqlx.Tx, d AlertDeclaration) (DeclaredAlert, error) {
	a := d.Alert
	c, err := s.claimAlert(ctx, tx, a.Source, a.Fingerprint)
	if err != nil {
		return DeclaredAlert{}, err
	}
	if c.Ref != "" {
		inc, err := s.incidentWhere(ctx, tx, "ref = ?", c.Ref)
		return DeclaredAlert{Incident: inc}, err
	}
	// A claim with no incident was left by a declaration that died between
	// the two (before they shared a transaction): its key finds what it
	// declared, if it did.
	key := fmt.Sprintf("alert/%s/%s/g%d", a.Source, a.Fingerprint, c.Generation)
	inc, err := s.incidentWhere(ctx, tx, "idempotency_key = ?", key)
	created := false
	switch incidentflow.ErrorCode(err) {
	case incidentflow.ENOTFOUND:
		d.Incident.IdempotencyKey = &key
		if inc, err = s.insertIncident(ctx, tx, d.Incident); err != nil {
			return DeclaredAlert{}, err
		}
		created = true
	case "":
	default:
		return DeclaredAlert{}, err
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE alert_claims SET incident_ref = ? WHERE source = ? AND fingerprint = ? AND generation = ?`),
		inc.Ref, a.Source, a.Fingerprint, c.Generation); err != nil {
		return DeclaredAlert{}, err
	}
	if created {
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO alerts (source, fingerprint, incident_ref, alertname, status, starts_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`), a.Source, a.Fingerprint, inc.Ref, a.AlertName, a.Status, a.StartsAt, s.now()); err != nil {
			return DeclaredAlert{}, err
		}
	}
	return DeclaredAlert{Incident: inc, Created: created}, nil
}

// alertClaim ties an alert's fingerprint to the incident it declared while
// that incident is open. Generation counts the fingerprint's incidents; Ref
// is empty when it has none yet (the next generation's, once the last is
// over).
type alertClaim struct {
	Source      string
	Fingerprint string
	Generation  int64
	Ref         string
}

// claimAlert returns the fingerprint's claim on its open incident, or, when
// it has none or its incident is over (resolved, closed or declined), a new
// claim of the next generation with no incident yet. The claim's row is
// locked for the transaction (SQLite's transactions take the whole
// database), so concurrent transactions for one fingerprint get the same
// claim, one after the other.
func (s *Store) claimAlert(ctx context.Context, tx *sqlx.Tx, source, fingerprint string) (alertClaim, error) {
	c := alertClaim{Source: source, Fingerprint: fingerprint}
	now := s.now()
	if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO alert_claims (source, fingerprint, generation, incident_ref, claimed_at)
		VALUES (?, ?, 1, NULL, ?) ON CONFLICT (source, fingerprint) DO NOTHING`), source, fingerprint, now); err != nil {
		return c, err
	}
	lock := ""
	if s.dialect == Postgres {
		lock = " FOR UPDATE OF c"
	}
	var ref, status sql.NullString
	row := tx.QueryRowxContext(ctx, tx.Rebind(`SELECT c.generation, c.incident_ref, i.status FROM alert_claims c
		LEFT JOIN incidents i ON i.ref = c.incident_ref WHERE c.source = ? AND c.fingerprint = ?`+lock), source, fingerprint)
	if err := row.Scan(&c.Generation, &ref, &status); err != nil {
		return c, err
	}
	c.Ref = ref.String
	switch status.String {
	case "resolved", "closed", "declined":
	default:
		return c, nil // open, or being declared
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE alert_claims SET generation = generation + 1, incident_ref = NULL, claimed_at = ?
		WHERE source = ? AND fingerprint = ? AND generation = ?`), now, source, fingerprint, c.Generation); err != nil {
		return c, err
	}
	c.Generation, c.Ref = c.Generation+1, ""
	return c, nil
}

// AlertClaimed reports whether a fingerprint of a source holds a claim:
// its incident declared, or being declared. On PostgreSQL a claim being
// written by a declaration still in progress counts: the check waits for
// it (a moment at most), taking the claim's key the way a declaration
// does, and gives it back.
func (s *Store) AlertClaimed(ctx context.Context, source, fingerprint string) (bool, error) {
	if s.dialect != Postgres {
		var n int
		err := s.db.GetContext(ctx, &n, s.db.Rebind(`SELECT count(*) FROM alert_claims WHERE source = ? AND fingerprint = ?`), source, fingerprint)
		return n > 0, wrap(err, "read alert claim")
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return false, wrap(err, "read alert claim")
	}
	defer func() { _ = tx.Rollback() }() // the probe's claim is never kept
	if _, err := tx.ExecContext(ctx, `SET LOCAL lock_timeout = '1s'`); err != nil {
		return false, wrap(err, "read alert claim")
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO alert_claims (source, fingerprint, generation, incident_ref, claimed_at)
		VALUES ($1, $2, 1, NULL, now()) ON CONFLICT (source, fingerprint) DO NOTHING`, source, fingerprint)
	if isLockTimeout(err) { // a declaration holds it
		return true, nil
	}
	if err != nil {
		return false, wrap(err, "read alert claim")
	}
	n, _ := res.RowsAffected()
	return n == 0, nil
}
