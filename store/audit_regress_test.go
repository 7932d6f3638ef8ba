package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/store"
	"github.com/incidentflow/incidentflow/store/storetest"
)

// Regression tests for holes hostile testing found in the audit log.

// rawDB opens the database behind a store URL directly, as someone with
// write access to it (a DBA, a stolen backup restored) would.
func rawDB(t *testing.T, url string) *sql.DB {
	t.Helper()
	driver, dsn := "postgres", url
	if path, ok := strings.CutPrefix(url, "sqlite:"); ok {
		driver, dsn = "sqlite", "file:"+path
	}
	db, err := sql.Open(driver, dsn)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// auditKey is the key the tests' logs are chained under.
var auditKey = store.AuditKey([]byte("the deployment's secret, 32 bytes or more"))

// openKeyed opens and migrates the store at url, chaining under auditKey.
func openKeyed(t *testing.T, url string) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), url)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	_, err = s.Migrate(context.Background())
	require.NoError(t, err)
	s.SetAuditKey(auditKey)
	return s
}

// verifyAll checks the whole audit log as incidentflow audit verify does,
// and returns its head: the last entry's number and hash.
func verifyAll(t *testing.T, s *store.Store) (int64, string, error) {
	t.Helper()
	entries, err := s.Audit(context.Background(), 0, 1_000_000)
	require.NoError(t, err)
	head, err := store.VerifyAudit(auditKey, entries, 0, "")
	if len(entries) == 0 {
		return 0, head, err
	}
	return entries[len(entries)-1].Seq, head, err
}

// Removing the newest entries of the audit log (what someone covering
// their tracks removes) leaves a chain that holds, but one that no longer
// reaches the head recorded before (incidentflow audit verify prints it,
// and --head checks it).
func TestAuditTailCutIsDetected(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(d, func(t *testing.T) {
			url := storetest.URL(t, d)
			s := openKeyed(t, url)
			for i, action := range []string{"POST /v1/incidents", "POST /v1/incidents/:ref/acknowledge", "POST /v1/incidents/:ref/roles"} {
				_, err := s.AppendAudit(context.Background(), store.AuditEntry{At: time.Now(), Principal: "mallory", Via: "token:tok_1",
					Action: action, Target: fmt.Sprintf("INC-%d", i+1), Outcome: "done", Status: 200})
				require.NoError(t, err)
			}
			seq, head, err := verifyAll(t, s)
			require.NoError(t, err)
			require.Equal(t, int64(3), seq)

			_, err = rawDB(t, url).Exec(`DELETE FROM audit_log WHERE seq = 3`)
			require.NoError(t, err)
			cut, cutHead, err := verifyAll(t, s)
			require.NoError(t, err, "what is left still chains")
			require.False(t, cut == seq && cutHead == head, "mallory's role assignment is gone and the log still reaches its recorded head")
		})
	}
}

// Rewriting an entry and re-chaining every entry after it needs more than
// write access to the database: the chain is keyed by the deployment's
// secret, which the database does not hold.
func TestAuditRechainedIsDetected(t *testing.T) {
	url := storetest.URL(t, store.Postgres)
	s := openKeyed(t, url)
	for _, who := range []string{"alice", "mallory", "bob"} {
		_, err := s.AppendAudit(context.Background(), store.AuditEntry{At: time.Now(), Principal: who, Via: "token:tok_1",
			Action: "POST /v1/incidents/:ref/approvals", Target: "INC-1", Outcome: "done", Status: 200})
		require.NoError(t, err)
	}
	entries, err := s.Audit(context.Background(), 0, 100)
	require.NoError(t, err)
	db := rawDB(t, url)
	prev := entries[0].Hash
	for _, e := range entries[1:] {
		if e.Principal == "mallory" {
			e.Principal = "alice"
		}
		e.PrevHash = prev
		e.Hash = store.AuditHash(nil, e) // all a forger without the secret can make
		_, err := db.Exec(`UPDATE audit_log SET principal = $1, prev_hash = $2, hash = $3 WHERE seq = $4`, e.Principal, e.PrevHash, e.Hash, e.Seq)
		require.NoError(t, err)
		prev = e.Hash
	}
	_, _, err = verifyAll(t, s)
	require.Error(t, err, "mallory's approval now reads as alice's, and the log verifies as intact")
}

// Two writers appending at once — two api replicas on PostgreSQL, or
// incidentflow token create/revoke beside a running incidentflow dev on
// SQLite — keep one chain with every entry: none lost, none forked.
// (SQLite's transactions take the write lock when they begin, so the
// append's read of the last entry is never stale.)
func TestAuditConcurrentAppendsKeepOneChain(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(d, func(t *testing.T) {
			url := storetest.URL(t, d)
			handles := []*store.Store{openKeyed(t, url), openKeyed(t, url)}
			var wg sync.WaitGroup
			errs := make(chan error, 1000)
			for g := range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range 40 {
						_, err := handles[g%2].AppendAudit(context.Background(), store.AuditEntry{At: time.Now(), Principal: fmt.Sprintf("p%d", g),
							Via: "token", Action: "POST", Target: fmt.Sprint(i), Outcome: "done"})
						if err != nil {
							errs <- err
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			lost := 0
			var first error
			for err := range errs {
				if first == nil {
					first = err
				}
				lost++
			}
			require.Zero(t, lost, "%d of %d entries were not appended; the first error: %v", lost, 16*40, first)
			entries, err := handles[0].Audit(context.Background(), 0, 100_000)
			require.NoError(t, err)
			require.Len(t, entries, 16*40)
			_, _, err = verifyAll(t, handles[1])
			require.NoError(t, err)
		})
	}
}

// A token's name cannot be another token's id, and revoking by id revokes
// that token only: one revocation cannot take down a second, unaudited.
func TestRevokeByIDSparesNamesakes(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		_, first, err := s.CreateToken(ctx, "", incidentflow.Principal{Kind: incidentflow.ServicePrincipal, ID: "alertmanager", Role: incidentflow.RoleDeclarer})
		require.NoError(t, err)
		_, _, err = s.CreateToken(ctx, first.ID, incidentflow.Principal{Kind: incidentflow.PersonPrincipal, ID: "alice", Role: incidentflow.RoleAdmin})
		require.Equal(t, incidentflow.EINVALID, incidentflow.ErrorCode(err), "a name like another token's id is refused: %v", err)
		secret, other, err := s.CreateToken(ctx, "alice-laptop", incidentflow.Principal{Kind: incidentflow.PersonPrincipal, ID: "alice", Role: incidentflow.RoleAdmin})
		require.NoError(t, err)
		revoked, err := s.RevokeToken(ctx, first.ID)
		require.NoError(t, err)
		require.Equal(t, first.ID, revoked.ID)
		_, err = s.TokenByHash(ctx, store.HashToken(secret))
		require.NoError(t, err, "revoking %s also revoked %s", first.ID, other.ID)
	})
}

// Rotating the secret the log is chained under: the entries before the
// rotation verify under the previous key, those after under the new one,
// and after the first entry under the new key, none under the old one is
// taken (whoever holds the old secret cannot add to the log).
func TestAuditVerifiesAcrossARotation(t *testing.T) {
	s := openKeyed(t, storetest.URL(t, store.SQLite))
	ctx := context.Background()
	newKey := store.AuditKey([]byte("the deployment's new secret, 32 bytes or more"))
	for i := range 3 {
		if i == 2 {
			s.SetAuditKey(newKey) // rotated
		}
		_, err := s.AppendAudit(ctx, store.AuditEntry{At: time.Now(), Principal: "alice", Via: "token", Action: "POST /v1/incidents", Outcome: "done", Status: 201})
		require.NoError(t, err)
	}
	entries, err := s.Audit(ctx, 0, 100)
	require.NoError(t, err)
	_, err = (&store.AuditKeys{Current: newKey}).Verify(entries, 0, "")
	require.Error(t, err, "the entries before the rotation are not under the new key")
	_, err = (&store.AuditKeys{Current: newKey, Previous: auditKey}).Verify(entries, 0, "")
	require.NoError(t, err, "with the previous key, the whole log holds")

	s.SetAuditKey(auditKey) // someone still holding the old secret writes
	_, err = s.AppendAudit(ctx, store.AuditEntry{At: time.Now(), Principal: "mallory", Via: "token", Action: "DELETE evidence", Outcome: "done", Status: 200})
	require.NoError(t, err)
	entries, err = s.Audit(ctx, 0, 100)
	require.NoError(t, err)
	_, err = (&store.AuditKeys{Current: newKey, Previous: auditKey}).Verify(entries, 0, "")
	require.ErrorContains(t, err, "entry 4 was changed", "an entry under the old key after the rotation is refused")
}
