package store

import (
	"context"
	"database/sql"
	"errors"
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
}

// LatestAlert returns the most recent incident's record of the fingerprint,
// open or not, or ENOTFOUND.
func (s *Store) LatestAlert(ctx context.Context, source, fingerprint string) (Alert, error) {
	var a Alert
	err := s.db.GetContext(ctx, &a, s.db.Rebind(`SELECT a.source, a.fingerprint, a.incident_ref, a.alertname, a.status, a.starts_at, a.updated_at
		FROM alerts a JOIN incidents i ON i.ref = a.incident_ref
		WHERE a.source = ? AND a.fingerprint = ? ORDER BY i.number DESC LIMIT 1`), source, fingerprint)
	if errors.Is(err, sql.ErrNoRows) {
		return a, incidentflow.Errorf(incidentflow.ENOTFOUND, "no incident has alert %s", fingerprint)
	}
	return a, wrap(err, "read alert")
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
