// Package store is the app database: incidents, their timelines, deliveries and
// process versions, over PostgreSQL (lib/pq) or SQLite (modernc.org/sqlite) with
// one set of queries. It must never import Temporal, api, activities or workflows.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/incidentflow/incidentflow"
)

// Dialects the store speaks.
const (
	Postgres = "postgres"
	SQLite   = "sqlite"
)

// Store is the app database. It is safe for concurrent use.
type Store struct {
	db      *sqlx.DB
	dialect string
	now     func() time.Time
	// auditKey chains the audit log (see SetAuditKey).
	auditKey []byte
}

// Open connects to a database URL: postgres://… or postgresql://… for
// PostgreSQL, sqlite:PATH for a SQLite file. It pings the database, so an
// unreachable one fails here with EUNAVAILABLE.
func Open(ctx context.Context, databaseURL string) (*Store, error) {
	var (
		db      *sqlx.DB
		err     error
		dialect string
	)
	switch {
	case strings.HasPrefix(databaseURL, "postgres://"), strings.HasPrefix(databaseURL, "postgresql://"):
		dialect = Postgres
		db, err = sqlx.Open("postgres", databaseURL)
		if err == nil {
			db.SetMaxOpenConns(20)
			db.SetMaxIdleConns(5)
			db.SetConnMaxIdleTime(5 * time.Minute)
		}
	case strings.HasPrefix(databaseURL, "sqlite:"):
		dialect = SQLite
		path := strings.TrimPrefix(databaseURL, "sqlite:")
		q := url.Values{}
		for _, p := range []string{"journal_mode(WAL)", "synchronous(NORMAL)", "busy_timeout(10000)", "foreign_keys(1)"} {
			q.Add("_pragma", p)
		}
		// Transactions take the write lock when they begin: one that read
		// and then wrote could find another process (a CLI beside dev)
		// holding it, and fail where waiting would have done.
		q.Set("_txlock", "immediate")
		q.Set("_time_format", "sqlite")
		var sqlDB *sql.DB
		sqlDB, err = sql.Open("sqlite", "file:"+path+"?"+q.Encode())
		if err == nil {
			// One writer: more connections only trade SQLITE_BUSY for nothing.
			sqlDB.SetMaxOpenConns(1)
			db = sqlx.NewDb(sqlDB, "sqlite3") // the name sqlx knows to bind ? for
		}
	default:
		return nil, incidentflow.Errorf(incidentflow.EINVALID, "database URL must start with postgres://, postgresql:// or sqlite:, not %q", redact(databaseURL))
	}
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", dialect, err)
	}
	s := &Store{db: db, dialect: dialect, now: func() time.Time { return time.Now().UTC() }}
	if err := s.Ping(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}

// redact hides the password of a database URL, for messages.
func redact(databaseURL string) string {
	u, err := url.Parse(databaseURL)
	if err != nil || u.User == nil {
		return databaseURL
	}
	return u.Redacted()
}

// Close releases the connections.
func (s *Store) Close() error { return s.db.Close() }

// Dialect is Postgres or SQLite.
func (s *Store) Dialect() string { return s.dialect }

// Ping checks that the database answers; it fails with EUNAVAILABLE.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := s.db.PingContext(ctx); err != nil {
		return &incidentflow.Error{Code: incidentflow.EUNAVAILABLE, Message: "the database is unreachable", Err: err}
	}
	return nil
}

// wrap turns a driver error into a domain error: an unreachable database is
// EUNAVAILABLE, anything else stays internal with context.
func wrap(err error, what string) error {
	if err == nil {
		return nil
	}
	var e *incidentflow.Error
	if errors.As(err, &e) {
		return err
	}
	if isConnectionError(err) {
		return &incidentflow.Error{Code: incidentflow.EUNAVAILABLE, Message: "the database is unreachable", Err: fmt.Errorf("%s: %w", what, err)}
	}
	return fmt.Errorf("%s: %w", what, err)
}

func isConnectionError(err error) bool {
	if errors.Is(err, sql.ErrConnDone) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		// Class 08: connection exception; 57P: operator intervention (shutdown).
		return strings.HasPrefix(string(pqErr.Code), "08") || strings.HasPrefix(string(pqErr.Code), "57P")
	}
	msg := err.Error()
	return strings.Contains(msg, "connection refused") || strings.Contains(msg, "bad connection") ||
		strings.Contains(msg, "broken pipe") || strings.Contains(msg, "connection reset") || strings.Contains(msg, "EOF")
}

func isUniqueViolation(err error) bool {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		return pqErr.Code == "23505"
	}
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// isLockTimeout reports whether err is PostgreSQL's lock_not_available:
// a lock_timeout ran out while another transaction held the lock.
func isLockTimeout(err error) bool {
	var pqErr *pq.Error
	return errors.As(err, &pqErr) && pqErr.Code == "55P03"
}

// inTx runs fn in a transaction, committing when it returns nil.
func (s *Store) inTx(ctx context.Context, fn func(*sqlx.Tx) error) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Size is how many bytes the database takes.
func (s *Store) Size(ctx context.Context) (int64, error) {
	var n int64
	var err error
	if s.dialect == Postgres {
		err = s.db.GetContext(ctx, &n, `SELECT pg_database_size(current_database())`)
	} else {
		err = s.db.GetContext(ctx, &n, `SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()`)
	}
	return n, wrap(err, "database size")
}

// CountEvents counts the timeline events of a kind on incidents of a type.
func (s *Store) CountEvents(ctx context.Context, incidentType, kind string) (int, error) {
	var n int
	err := s.db.GetContext(ctx, &n, s.db.Rebind(`SELECT count(*) FROM timeline_events e JOIN incidents i ON i.ref = e.incident_ref
		WHERE i.type = ? AND e.kind = ?`), incidentType, kind)
	return n, wrap(err, "count events")
}
