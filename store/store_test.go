package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/store"
	"github.com/incidentflow/incidentflow/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// forEachDialect runs fn against a fresh, migrated store of every dialect.
func forEachDialect(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	for _, d := range storetest.Dialects {
		t.Run(d, func(t *testing.T) { fn(t, storetest.Open(t, d)) })
	}
}

func mustSaveProcess(t *testing.T, s *store.Store) string {
	t.Helper()
	require.NoError(t, s.SaveProcessVersion(context.Background(), store.ProcessVersion{
		Hash: "h1", Type: "engineering", File: "engineering.yaml", YAML: "process: engineering", Snapshot: []byte(`{"process":"engineering"}`)}))
	return "h1"
}

func newIncident(hash string, key *string) incidentflow.Incident {
	return incidentflow.Incident{Type: "engineering", Title: "Checkout is down", Severity: "critical", Status: "investigating",
		Fields: map[string]any{"service": "checkout", "users": float64(12)}, ProcessHash: hash,
		DeclaredAt: time.Date(2026, 11, 26, 10, 0, 0, 123_000_000, time.UTC), IdempotencyKey: key}
}

func TestMigrate(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		n, err := s.Migrate(ctx)
		require.NoError(t, err)
		require.Zero(t, n, "a second Migrate applies nothing")
		require.NoError(t, s.CheckSchema(ctx))
	})
}

func TestCheckSchemaRefusesUnmigrated(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(d, func(t *testing.T) {
			s, err := store.Open(context.Background(), storetest.URL(t, d))
			require.NoError(t, err)
			defer func() { _ = s.Close() }()
			want, err := s.SchemaVersion()
			require.NoError(t, err)
			err = s.CheckSchema(context.Background())
			require.EqualError(t, err, fmt.Sprintf("the database schema is at version 0 but this binary needs %d: run `incidentflow migrate` first", want))
		})
	}
}

func TestConcurrentMigrate(t *testing.T) {
	url := storetest.URL(t, store.Postgres)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := store.Open(context.Background(), url)
			if err != nil {
				errs <- err
				return
			}
			defer func() { _ = s.Close() }()
			_, err = s.Migrate(context.Background())
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

func TestCreateIncident(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		hash := mustSaveProcess(t, s)
		key := "abc"
		a, created, err := s.CreateIncident(ctx, newIncident(hash, &key))
		require.NoError(t, err)
		require.True(t, created)
		require.Equal(t, "INC-1", a.Ref)
		require.Equal(t, "incident-INC-1", a.WorkflowID)

		t.Run("SameIdempotencyKeyReturnsTheSameIncident", func(t *testing.T) {
			again, created, err := s.CreateIncident(ctx, newIncident(hash, &key))
			require.NoError(t, err)
			require.False(t, created)
			require.Equal(t, a.Ref, again.Ref)
		})
		t.Run("WithoutKeyNumbersOn", func(t *testing.T) {
			b, created, err := s.CreateIncident(ctx, newIncident(hash, nil))
			require.NoError(t, err)
			require.True(t, created)
			require.Equal(t, "INC-2", b.Ref)
		})
		t.Run("ReadBack", func(t *testing.T) {
			got, err := s.Incident(ctx, "INC-1")
			require.NoError(t, err)
			require.Equal(t, a.DeclaredAt, got.DeclaredAt)
			require.Equal(t, map[string]any{"service": "checkout", "users": float64(12)}, got.Fields)
			require.Nil(t, got.WorkflowStartedAt)
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			_, err := s.Incident(ctx, "INC-99")
			require.Equal(t, incidentflow.ENOTFOUND, incidentflow.ErrorCode(err))
		})
	})
}

func TestConcurrentDeclarationsGetDistinctRefs(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *store.Store) {
		hash := mustSaveProcess(t, s)
		var wg sync.WaitGroup
		refs := make(chan string, 20)
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				inc, _, err := s.CreateIncident(context.Background(), newIncident(hash, nil))
				if err != nil {
					t.Error(err)
					return
				}
				refs <- inc.Ref
			}()
		}
		wg.Wait()
		close(refs)
		seen := map[string]bool{}
		for r := range refs {
			require.False(t, seen[r], "ref %s given twice", r)
			seen[r] = true
		}
		require.Len(t, seen, 20)
	})
}

func TestUnstartedIncidents(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		hash := mustSaveProcess(t, s)
		a, _, err := s.CreateIncident(ctx, newIncident(hash, nil))
		require.NoError(t, err)
		b, _, err := s.CreateIncident(ctx, newIncident(hash, nil))
		require.NoError(t, err)
		require.NoError(t, s.MarkWorkflowStarted(ctx, b.Ref))
		list, err := s.UnstartedIncidents(ctx, time.Now(), 10)
		require.NoError(t, err)
		require.Len(t, list, 1)
		require.Equal(t, a.Ref, list[0].Ref)
	})
}

func TestListIncidents(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		hash := mustSaveProcess(t, s)
		for i := range 5 {
			inc := newIncident(hash, nil)
			if i%2 == 0 {
				inc.Severity = "minor"
			}
			_, _, err := s.CreateIncident(ctx, inc)
			require.NoError(t, err)
		}
		page, err := s.ListIncidents(ctx, store.ListFilter{Limit: 2})
		require.NoError(t, err)
		require.Equal(t, []string{"INC-5", "INC-4"}, refs(page))
		page, err = s.ListIncidents(ctx, store.ListFilter{Limit: 2, After: 4})
		require.NoError(t, err)
		require.Equal(t, []string{"INC-3", "INC-2"}, refs(page))
		minor, err := s.ListIncidents(ctx, store.ListFilter{Severity: "minor", Type: "engineering"})
		require.NoError(t, err)
		require.Equal(t, []string{"INC-5", "INC-3", "INC-1"}, refs(minor))
	})
}

func refs(list []incidentflow.Incident) []string {
	out := make([]string, len(list))
	for i, inc := range list {
		out[i] = inc.Ref
	}
	return out
}

func TestApplyChange(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		inc, _, err := s.CreateIncident(ctx, newIncident(mustSaveProcess(t, s), nil))
		require.NoError(t, err)
		at := inc.DeclaredAt.Add(5 * time.Minute)
		ack := incidentflow.Change{Ref: inc.Ref, At: at, AcknowledgedAt: &at, AcknowledgedBy: "alice",
			Events: []incidentflow.TimelineEvent{{At: at, Kind: "acknowledged", Actor: "alice", Message: "Acknowledged by alice", DedupKey: "k1"}}}
		require.NoError(t, s.ApplyChange(ctx, ack))
		require.NoError(t, s.ApplyChange(ctx, ack), "applying a change twice is harmless")
		resolved := incidentflow.Change{Ref: inc.Ref, At: at.Add(time.Hour), Status: "resolved", Severity: "major",
			Events: []incidentflow.TimelineEvent{{At: at.Add(time.Hour), Kind: "status", Message: "Resolved", Data: map[string]any{"from": "investigating"}, DedupKey: "k2"}}}
		require.NoError(t, s.ApplyChange(ctx, resolved))

		got, err := s.Incident(ctx, inc.Ref)
		require.NoError(t, err)
		require.Equal(t, "resolved", got.Status)
		require.Equal(t, "major", got.Severity)
		require.Equal(t, "alice", got.AcknowledgedBy)
		require.Equal(t, at, got.AcknowledgedAt.UTC())
		require.Equal(t, at.Add(time.Hour), got.ResolvedAt.UTC())

		tl, err := s.Timeline(ctx, inc.Ref)
		require.NoError(t, err)
		require.Len(t, tl, 2)
		require.Equal(t, "acknowledged", tl[0].Kind)
		require.Equal(t, map[string]any{"from": "investigating"}, tl[1].Data)

		err = s.ApplyChange(ctx, incidentflow.Change{Ref: "INC-404", At: at})
		require.Equal(t, incidentflow.ENOTFOUND, incidentflow.ErrorCode(err))
	})
}

// An update's events as its answer gives them stand over what the
// recorder writes after (a workflow task Temporal did not keep, late), and
// a refused update's events go and stay gone.
func TestSettledAndWithdrawnUpdateEvents(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		inc, _, err := s.CreateIncident(ctx, newIncident(mustSaveProcess(t, s), nil))
		require.NoError(t, err)
		at := inc.DeclaredAt.Add(time.Minute)
		key := "incident-" + inc.Ref + "/update/key-a/1"
		event := func(msg string) incidentflow.TimelineEvent {
			return incidentflow.TimelineEvent{At: at, Kind: "fields_changed", Message: msg, DedupKey: key, Seq: 2}
		}
		require.NoError(t, s.ApplyChange(ctx, incidentflow.Change{Ref: inc.Ref, At: at, Events: []incidentflow.TimelineEvent{event("1 → 7, a task not kept")}}))
		require.NoError(t, s.SettleEvents(ctx, inc.Ref, []incidentflow.TimelineEvent{event("3 → 7, as the run kept it")}))
		require.NoError(t, s.ApplyChange(ctx, incidentflow.Change{Ref: inc.Ref, At: at, Events: []incidentflow.TimelineEvent{event("5 → 7, another task not kept, late")}}))
		messages := func() []string {
			tl, err := s.Timeline(ctx, inc.Ref)
			require.NoError(t, err)
			var out []string
			for _, e := range tl {
				out = append(out, e.Message)
			}
			return out
		}
		require.Equal(t, []string{"3 → 7, as the run kept it"}, messages())

		refused := "incident-" + inc.Ref + "/update/key-b/"
		phantom := incidentflow.TimelineEvent{At: at, Kind: "status_changed", Message: "Status investigating → fixing", DedupKey: refused + "1", Seq: 3}
		require.NoError(t, s.ApplyChange(ctx, incidentflow.Change{Ref: inc.Ref, At: at, Events: []incidentflow.TimelineEvent{phantom}}))
		require.NoError(t, s.WithdrawUpdate(ctx, inc.Ref, refused))
		require.NoError(t, s.WithdrawUpdate(ctx, inc.Ref, refused), "withdrawing twice is harmless")
		phantom.DedupKey = refused + "2"
		require.NoError(t, s.ApplyChange(ctx, incidentflow.Change{Ref: inc.Ref, At: at, Events: []incidentflow.TimelineEvent{phantom}}))
		require.Equal(t, []string{"3 → 7, as the run kept it"}, messages(), "the refused update's events are gone, and stay gone")
		require.Error(t, s.WithdrawUpdate(ctx, inc.Ref, "incident-"+inc.Ref+"/1"), "only an update's events are withdrawn")
	})
}

func TestDeliveries(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		inc, _, err := s.CreateIncident(ctx, newIncident(mustSaveProcess(t, s), nil))
		require.NoError(t, err)
		d := store.Delivery{Key: "incident-INC-1/announce/1/console", Ref: inc.Ref, Channel: "console"}
		first, err := s.BeginDelivery(ctx, d)
		require.NoError(t, err)
		require.Equal(t, store.DeliveryPending, first.Status)
		require.Equal(t, 1, first.Attempts)
		retry, err := s.BeginDelivery(ctx, d)
		require.NoError(t, err)
		require.Equal(t, 2, retry.Attempts)
		require.NoError(t, s.FinishDelivery(ctx, d.Key, store.DeliverySent, ""))
		after, err := s.BeginDelivery(ctx, d)
		require.NoError(t, err)
		require.Equal(t, store.DeliverySent, after.Status, "a sent delivery stays sent")
		require.Equal(t, 2, after.Attempts)
	})
}

func TestOpenErrors(t *testing.T) {
	_, err := store.Open(context.Background(), "mysql://x")
	require.EqualError(t, err, `database URL must start with postgres://, postgresql:// or sqlite:, not "mysql://x"`)
	_, err = store.Open(context.Background(), "postgres://u:secret@127.0.0.1:1/db?sslmode=disable&connect_timeout=2")
	require.Equal(t, incidentflow.EUNAVAILABLE, incidentflow.ErrorCode(err))
	require.NotContains(t, incidentflow.ErrorMessage(err), "secret")
}

func TestConcurrentSameIdempotencyKeyGivesOneIncident(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *store.Store) {
		hash := mustSaveProcess(t, s)
		key := "same"
		var wg sync.WaitGroup
		refs := make(chan string, 10)
		for range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				inc, _, err := s.CreateIncident(context.Background(), newIncident(hash, &key))
				if err != nil {
					t.Error(err)
					return
				}
				refs <- inc.Ref
			}()
		}
		wg.Wait()
		close(refs)
		for r := range refs {
			require.Equal(t, "INC-1", r)
		}
	})
}

func TestTasks(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		inc, _, err := s.CreateIncident(ctx, newIncident(mustSaveProcess(t, s), nil))
		require.NoError(t, err)
		due := inc.DeclaredAt.Add(48 * time.Hour)
		task := incidentflow.Task{ID: inc.Ref + "-T1", Step: "fix", Title: "Add a canary", Owner: "alice", DueAt: &due,
			Status: "open", CreatedAt: inc.DeclaredAt}
		require.NoError(t, s.ApplyChange(ctx, incidentflow.Change{Ref: inc.Ref, At: inc.DeclaredAt, Tasks: []incidentflow.Task{task}}))
		done := inc.DeclaredAt.Add(time.Hour)
		task.Status, task.DoneBy, task.DoneAt, task.Note = "done", "alice", &done, "shipped"
		require.NoError(t, s.ApplyChange(ctx, incidentflow.Change{Ref: inc.Ref, At: done, Tasks: []incidentflow.Task{task}}))

		list, err := s.Tasks(ctx, inc.Ref)
		require.NoError(t, err)
		require.Len(t, list, 1)
		require.Equal(t, "done", list[0].Status)
		require.Equal(t, due, list[0].DueAt.UTC())
		got, err := s.Task(ctx, inc.Ref+"-T1")
		require.NoError(t, err)
		require.Equal(t, "shipped", got.Note)
		_, err = s.Task(ctx, "INC-1-T9")
		require.Equal(t, incidentflow.ENOTFOUND, incidentflow.ErrorCode(err))

		// Completed after the incident's run has ended: once, however many
		// complete it at the same time.
		later := incidentflow.Task{ID: inc.Ref + "-T2", Title: "Write it up", Status: "open", CreatedAt: inc.DeclaredAt}
		require.NoError(t, s.ApplyChange(ctx, incidentflow.Change{Ref: inc.Ref, At: inc.DeclaredAt, Tasks: []incidentflow.Task{later}}))
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() {
				t := later
				t.Ref, t.Status, t.DoneBy, t.DoneAt = inc.Ref, "done", fmt.Sprintf("p%d", i), &done
				errs[i] = s.CompleteTask(ctx, t, incidentflow.TimelineEvent{At: done, Kind: "task_done", Actor: t.DoneBy, Message: "done",
					DedupKey: fmt.Sprintf("task/%s/done/%d", t.ID, i)})
			})
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			if err == nil {
				won++
			} else {
				require.Equal(t, incidentflow.ECONFLICT, incidentflow.ErrorCode(err))
			}
		}
		require.Equal(t, 1, won, "one completion wins")
	})
}

func TestTokens(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		bot := incidentflow.Principal{Kind: incidentflow.ServicePrincipal, ID: "oncall-bot", Role: incidentflow.RoleResponder}
		secret, tok, err := s.CreateToken(ctx, "oncall-bot", bot)
		require.NoError(t, err)
		require.Regexp(t, `^ifl_[A-Za-z0-9_-]{43}$`, secret)
		got, err := s.TokenByHash(ctx, store.HashToken(secret))
		require.NoError(t, err)
		require.Equal(t, incidentflow.Token{ID: tok.ID, Name: "oncall-bot", Kind: "service", Principal: "oncall-bot", Role: "responder", CreatedAt: got.CreatedAt}, got)

		_, _, err = s.CreateToken(ctx, "oncall-bot", bot)
		require.Equal(t, incidentflow.ECONFLICT, incidentflow.ErrorCode(err))
		_, alices, err := s.CreateToken(ctx, "", incidentflow.Principal{Kind: incidentflow.PersonPrincipal, ID: "alice", Role: incidentflow.RoleViewer})
		require.NoError(t, err)
		require.Regexp(t, `^alice-[0-9a-f]{6}$`, alices.Name, "named after its principal")

		_, err = s.RevokeToken(ctx, "oncall-bot")
		require.NoError(t, err)
		_, err = s.TokenByHash(ctx, store.HashToken(secret))
		require.Equal(t, incidentflow.EUNAUTHORIZED, incidentflow.ErrorCode(err))
		_, err = s.RevokeToken(ctx, "oncall-bot")
		require.Equal(t, incidentflow.ENOTFOUND, incidentflow.ErrorCode(err))
		list, err := s.Tokens(ctx)
		require.NoError(t, err)
		require.Len(t, list, 2)
		require.NotNil(t, list[0].RevokedAt)
	})
}
