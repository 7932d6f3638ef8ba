package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/jmoiron/sqlx"
)

// RequestKey is a request sent with an Idempotency-Key, and its answer once
// it has one.
type RequestKey struct {
	Principal   string `db:"principal"`
	Key         string `db:"key"`
	Route       string `db:"route"`
	RequestHash string `db:"request_hash"`
	// Status and Response are the answer; Status is nil while the first
	// request is being answered.
	Status    *int      `db:"status"`
	Response  string    `db:"response"`
	CreatedAt time.Time `db:"created_at"`
}

// RequestKeyTTL is how long an answer is kept for retries; a key older than
// that may be used again.
const RequestKeyTTL = 24 * time.Hour

// RequestLease is how long a request being answered holds its key: a retry
// of the same request after that takes it over (whoever answered first has
// died, or could not keep the answer).
const RequestLease = 2 * time.Minute

// BeginRequest records that a principal sends a request with a key, unless
// it sent one with that key before (within RequestKeyTTL): then it returns
// that request as stored, with begun=false — or, when it is the same
// request, still unanswered and its lease has run out, takes it over
// (begun=true).
func (s *Store) BeginRequest(ctx context.Context, k RequestKey) (RequestKey, bool, error) {
	var out RequestKey
	begun := false
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		now := s.now()
		if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM request_keys WHERE principal = ? AND key = ? AND created_at < ?`),
			k.Principal, k.Key, now.Add(-RequestKeyTTL)); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO request_keys (principal, key, route, request_hash, created_at, claimed_until)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (principal, key) DO NOTHING`), k.Principal, k.Key, k.Route, k.RequestHash, now, now.Add(RequestLease))
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		if n == 0 {
			res, err = tx.ExecContext(ctx, tx.Rebind(`UPDATE request_keys SET claimed_until = ? WHERE principal = ? AND key = ?
				AND status IS NULL AND request_hash = ? AND (claimed_until IS NULL OR claimed_until < ?)`),
				now.Add(RequestLease), k.Principal, k.Key, k.RequestHash, now)
			if err != nil {
				return err
			}
			n, _ = res.RowsAffected()
		}
		begun = n == 1
		var resp sql.NullString
		row := tx.QueryRowxContext(ctx, tx.Rebind(`SELECT principal, key, route, request_hash, status, response, created_at
			FROM request_keys WHERE principal = ? AND key = ?`), k.Principal, k.Key)
		if err := row.Scan(&out.Principal, &out.Key, &out.Route, &out.RequestHash, &out.Status, &resp, &out.CreatedAt); err != nil {
			return err
		}
		out.Response = resp.String
		return nil
	})
	return out, begun, wrap(err, "begin request")
}

// FinishRequest stores the answer to a request begun with BeginRequest.
func (s *Store) FinishRequest(ctx context.Context, principal, key string, status int, response string) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE request_keys SET status = ?, response = ? WHERE principal = ? AND key = ?`),
		status, response, principal, key)
	return wrap(err, "finish request")
}

// ReleaseRequest gives up the lease of a request that has no answer worth
// keeping (it could not be carried out, or may be carried out yet), so that
// a retry of the same request with its key takes it over at once. The key
// stays the request's: another request with it is still refused.
func (s *Store) ReleaseRequest(ctx context.Context, principal, key string) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE request_keys SET claimed_until = NULL WHERE principal = ? AND key = ? AND status IS NULL`), principal, key)
	return wrap(err, "release request")
}

// PruneRequests removes the answers older than RequestKeyTTL.
func (s *Store) PruneRequests(ctx context.Context) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM request_keys WHERE created_at < ?`), s.now().Add(-RequestKeyTTL))
	if err != nil {
		return 0, wrap(err, "prune requests")
	}
	n, _ := res.RowsAffected()
	return n, nil
}
