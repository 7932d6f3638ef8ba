package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/migrations"
	"github.com/incidentflow/incidentflow/store"
	"github.com/incidentflow/incidentflow/store/storetest"
)

// A database at schema 5 holding incidents, alerts and tokens migrates to
// the current schema, keeping what it holds.
func TestMigrateKeepsWhatASchema5DatabaseHolds(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(d, func(t *testing.T) {
			ctx := context.Background()
			url := storetest.URL(t, d)
			var db *sql.DB
			var err error
			if d == store.Postgres {
				db, err = sql.Open("postgres", url)
			} else {
				db, err = sql.Open("sqlite", "file:"+strings.TrimPrefix(url, "sqlite:"))
			}
			require.NoError(t, err)
			defer func() { _ = db.Close() }()
			_, err = db.Exec(`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMP NOT NULL)`)
			require.NoError(t, err)
			entries, err := fs.ReadDir(migrations.FS, d)
			require.NoError(t, err)
			for i, e := range entries[:5] {
				b, err := fs.ReadFile(migrations.FS, path.Join(d, e.Name()))
				require.NoError(t, err)
				_, err = db.Exec(string(b))
				require.NoError(t, err, e.Name())
				_, err = db.Exec(fmt.Sprintf(`INSERT INTO schema_migrations VALUES (%d, '%s', CURRENT_TIMESTAMP)`, i+1, e.Name()))
				require.NoError(t, err)
			}
			for _, stmt := range []string{
				`INSERT INTO process_versions (hash, type, file, yaml, snapshot, first_seen) VALUES ('h', 'engineering', 'e.yaml', '', '{}', CURRENT_TIMESTAMP)`,
				`INSERT INTO incidents (ref, number, type, title, severity, status, fields, process_hash, workflow_id, declared_at, updated_at) VALUES ('INC-1', 1, 'engineering', 't', 'minor', 'closed', '{}', 'h', 'incident-INC-1', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`,
				`INSERT INTO incidents (ref, number, type, title, severity, status, fields, process_hash, workflow_id, declared_at, updated_at) VALUES ('INC-2', 2, 'engineering', 't', 'minor', 'investigating', '{}', 'h', 'incident-INC-2', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`,
				`INSERT INTO alerts (source, fingerprint, incident_ref, status, updated_at) VALUES ('grafana', 'fp', 'INC-1', 'resolved', CURRENT_TIMESTAMP)`,
				`INSERT INTO alerts (source, fingerprint, incident_ref, status, updated_at) VALUES ('grafana', 'fp', 'INC-2', 'firing', CURRENT_TIMESTAMP)`,
				`INSERT INTO api_tokens (id, name, scopes, hash, created_at) VALUES ('tok_1', 'bot', 'declare,respond', 'x', CURRENT_TIMESTAMP)`,
				`INSERT INTO deliveries (key, incident_ref, channel, recipient, status, created_at) VALUES ('k', 'INC-2', 'console', 'person:alice', 'sent', CURRENT_TIMESTAMP)`,
			} {
				_, err := db.Exec(stmt)
				require.NoError(t, err, stmt)
			}
			s, err := store.Open(ctx, url)
			require.NoError(t, err)
			defer func() { _ = s.Close() }()
			n, err := s.Migrate(ctx)
			require.NoError(t, err)
			require.Equal(t, len(entries)-5, n)
			got, err := s.DeclareAlerts(ctx, []store.AlertDeclaration{{Alert: store.Alert{Source: "grafana", Fingerprint: "fp", Status: "firing"},
				Incident: incidentflow.Incident{Type: "engineering", Title: "t", Severity: "minor", Status: "investigating", ProcessHash: "h", DeclaredAt: time.Now()}}})
			require.NoError(t, err)
			require.Equal(t, "INC-2", got[0].Incident.Ref, "the open incident keeps its alert")
			require.False(t, got[0].Created)
			toks, err := s.Tokens(ctx)
			require.NoError(t, err)
			require.Equal(t, "responder", toks[0].Role)
		})
	}
}

// A request whose API process died before it answered does not lock its
// Idempotency-Key for a day: once its lease has run out, a retry carries it
// out. (TestRequestLeaseRunsOut covers the lease's edges on SQLite.)
func TestAbandonedRequestKeyIsTakenOverOnPostgres(t *testing.T) {
	ctx := context.Background()
	url := storetest.URL(t, store.Postgres)
	s, err := store.Open(ctx, url)
	require.NoError(t, err)
	defer func() { _ = s.Close() }()
	_, err = s.Migrate(ctx)
	require.NoError(t, err)
	k := store.RequestKey{Principal: "alice", Key: "k1", Route: "POST /v1/incidents/INC-1/acknowledge", RequestHash: "h"}
	_, begun, err := s.BeginRequest(ctx, k)
	require.NoError(t, err)
	require.True(t, begun)
	// ... the api process is killed here: neither FinishRequest nor ForgetRequest runs ...
	db, err := sql.Open("postgres", url)
	require.NoError(t, err)
	defer func() { _ = db.Close() }()
	_, err = db.Exec(`UPDATE request_keys SET created_at = created_at - interval '10 minutes', claimed_until = claimed_until - interval '10 minutes'`)
	require.NoError(t, err)
	_, begun, err = s.BeginRequest(ctx, k)
	require.NoError(t, err)
	require.True(t, begun, "ten minutes after an abandoned attempt the retry is still refused as 'still being answered'")
}
