package store

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/migrations"
)

// migrationLockID is the PostgreSQL advisory lock held while migrating, so
// replicas that start together apply each migration once.
const migrationLockID = 7_424_310_042

type migration struct {
	version int
	name    string
	sql     string
}

func (s *Store) migrations() ([]migration, error) {
	dir := s.dialect
	entries, err := fs.ReadDir(migrations.FS, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("migration %s/%s is not named NNNN_description.sql", dir, e.Name())
		}
		b, err := fs.ReadFile(migrations.FS, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("migrations of %s skip from %d to %d", dir, i, m.version)
		}
	}
	return out, nil
}

// SchemaVersion is the version of the newest migration this binary carries.
func (s *Store) SchemaVersion() (int, error) {
	ms, err := s.migrations()
	if err != nil {
		return 0, err
	}
	return len(ms), nil
}

// Migrate applies the migrations the database lacks, each in its own
// transaction, under a lock (an advisory lock on PostgreSQL, the single writer on
// SQLite). It returns how many it applied.
func (s *Store) Migrate(ctx context.Context) (int, error) {
	ms, err := s.migrations()
	if err != nil {
		return 0, err
	}
	conn, err := s.db.Connx(ctx)
	if err != nil {
		return 0, wrap(err, "migrate")
	}
	defer func() { _ = conn.Close() }()
	if s.dialect == Postgres {
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrationLockID); err != nil {
			return 0, wrap(err, "take the migration lock")
		}
		defer func() {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLockID)
		}()
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMP NOT NULL)`); err != nil {
		return 0, wrap(err, "create schema_migrations")
	}
	var current int
	if err := conn.GetContext(ctx, &current, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`); err != nil {
		return 0, wrap(err, "read schema version")
	}
	applied := 0
	for _, m := range ms {
		if m.version <= current {
			continue
		}
		tx, err := conn.BeginTxx(ctx, nil)
		if err != nil {
			return applied, wrap(err, "begin migration")
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			_ = tx.Rollback()
			return applied, fmt.Errorf("apply migration %s/%s: %w", s.dialect, m.name, err)
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`), m.version, m.name, s.now()); err != nil {
			_ = tx.Rollback()
			return applied, wrap(err, "record migration")
		}
		if err := tx.Commit(); err != nil {
			return applied, wrap(err, "commit migration "+m.name)
		}
		applied++
	}
	return applied, nil
}

// CheckSchema refuses a database whose schema is older than this binary: the
// api and worker call it at start-up and tell the operator to migrate.
func (s *Store) CheckSchema(ctx context.Context) error {
	want, err := s.SchemaVersion()
	if err != nil {
		return err
	}
	var have int
	err = s.db.GetContext(ctx, &have, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`)
	if err != nil && !isConnectionError(err) {
		have = 0 // no schema_migrations table: nothing applied yet
	} else if err != nil {
		return wrap(err, "read schema version")
	}
	if have < want {
		return incidentflow.Errorf(incidentflow.EUNAVAILABLE,
			"the database schema is at version %d but this binary needs %d: run `incidentflow migrate` first", have, want)
	}
	return nil
}
