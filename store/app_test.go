package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/store"
)

// What waits for a person: the open incidents whose roles they hold now
// (not those they held) or for which they were paged, their open tasks;
// a restricted incident only as they may see it.
func TestInvolvements(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		hash := mustSaveProcess(t, s)
		declare := func(restricted bool) incidentflow.Incident {
			inc := newIncident(hash, nil)
			inc.Restricted = restricted
			created, _, err := s.CreateIncident(ctx, inc)
			require.NoError(t, err)
			return created
		}
		lead, paged, handedOn, closed, secret := declare(false), declare(false), declare(false), declare(false), declare(true)
		at := lead.DeclaredAt
		role := func(inc incidentflow.Incident, role, person string, n int) incidentflow.Change {
			return incidentflow.Change{Ref: inc.Ref, At: at, Roles: []incidentflow.RoleAssignment{{Role: role, Person: person, By: "admin", At: at.Add(time.Duration(n) * time.Second),
				DedupKey: inc.Ref + "/" + role + "/" + person}}}
		}
		require.NoError(t, s.ApplyChange(ctx, role(lead, "lead", "alice", 1)))
		require.NoError(t, s.ApplyChange(ctx, role(handedOn, "lead", "alice", 1)))
		require.NoError(t, s.ApplyChange(ctx, role(handedOn, "lead", "bob", 2)))
		require.NoError(t, s.ApplyChange(ctx, role(closed, "comms", "alice", 1)))
		require.NoError(t, s.ApplyChange(ctx, incidentflow.Change{Ref: closed.Ref, At: at, Status: "closed"}))
		require.NoError(t, s.ApplyChange(ctx, role(secret, "legal", "alice", 1)))
		for _, d := range []store.Delivery{
			{Key: "incident-" + paged.Ref + "/page/round-1/level-1/person:alice", Ref: paged.Ref, Channel: "console", Recipient: "person:alice"},
			{Key: "incident-" + lead.Ref + "/announce/person:alice", Ref: lead.Ref, Channel: "console", Recipient: "person:alice"},
		} {
			_, err := s.BeginDelivery(ctx, d)
			require.NoError(t, err)
			require.NoError(t, s.FinishDelivery(ctx, d.Key, store.DeliverySent, ""))
		}

		got, err := s.Involvements(ctx, "alice", &store.Visibility{Person: "alice"})
		require.NoError(t, err)
		byRef := map[string]store.Involvement{}
		for _, in := range got {
			byRef[in.Incident.Ref] = in
		}
		require.Len(t, got, 3, "%v", got)
		require.Equal(t, []string{"legal"}, byRef[secret.Ref].Roles, "the holder of a role sees a restricted incident")
		require.Equal(t, []string{"lead"}, byRef[lead.Ref].Roles)
		require.False(t, byRef[lead.Ref].Paged, "a message is not a page")
		require.True(t, byRef[paged.Ref].Paged)
		require.NotContains(t, byRef, handedOn.Ref, "the role went to bob")
		require.NotContains(t, byRef, closed.Ref, "closed incidents wait for nobody")

		outsider, err := s.Involvements(ctx, "alice", &store.Visibility{Person: "mallory"})
		require.NoError(t, err)
		require.Len(t, outsider, 2, "a restricted incident is kept to whoever may see it")

		due := at.Add(2 * time.Hour)
		task := func(inc incidentflow.Incident, id, owner string, due *time.Time) incidentflow.Change {
			return incidentflow.Change{Ref: inc.Ref, At: at, Tasks: []incidentflow.Task{{ID: id, Ref: inc.Ref, Title: id, Owner: owner, Status: "open", DueAt: due, CreatedAt: at}}}
		}
		require.NoError(t, s.ApplyChange(ctx, task(lead, lead.Ref+"-T1", "alice", nil)))
		require.NoError(t, s.ApplyChange(ctx, task(lead, lead.Ref+"-T2", "alice", &due)))
		require.NoError(t, s.ApplyChange(ctx, task(lead, lead.Ref+"-T3", "bob", &due)))
		tasks, err := s.OpenTasks(ctx, "alice", nil)
		require.NoError(t, err)
		require.Len(t, tasks, 2)
		require.Equal(t, lead.Ref+"-T2", tasks[0].ID, "the one due first comes first")

		// A task that follows its role: created for nobody, then alice's
		// when she takes the role, then bob's when he takes it over.
		mine := func(person string) []string {
			tasks, err := s.OpenTasks(ctx, person, nil)
			require.NoError(t, err)
			var ids []string
			for _, t := range tasks {
				ids = append(ids, t.ID)
			}
			return ids
		}
		require.NoError(t, s.ApplyChange(ctx, task(lead, lead.Ref+"-T4", "", nil)))
		require.NotContains(t, mine("alice"), lead.Ref+"-T4")
		require.NoError(t, s.ApplyChange(ctx, task(lead, lead.Ref+"-T4", "alice", nil)))
		require.Contains(t, mine("alice"), lead.Ref+"-T4")
		require.NoError(t, s.ApplyChange(ctx, task(lead, lead.Ref+"-T4", "bob", nil)))
		require.NotContains(t, mine("alice"), lead.Ref+"-T4")
		require.Contains(t, mine("bob"), lead.Ref+"-T4")
	})
}

// A record's version moves with each change and each event.
func TestVersion(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		inc, _, err := s.CreateIncident(ctx, newIncident(mustSaveProcess(t, s), nil))
		require.NoError(t, err)
		at, last, err := s.Version(ctx, inc.Ref)
		require.NoError(t, err)
		require.Zero(t, last)
		require.True(t, at.Equal(inc.DeclaredAt.Truncate(time.Microsecond)), "%s", at)
		require.NoError(t, s.ApplyChange(ctx, incidentflow.Change{Ref: inc.Ref, At: at, Events: []incidentflow.TimelineEvent{
			{At: at, Kind: "note", Message: "one", DedupKey: "n1"}}}))
		_, again, err := s.Version(ctx, inc.Ref)
		require.NoError(t, err)
		require.Positive(t, again)
		_, _, err = s.Version(ctx, "INC-404")
		require.Equal(t, incidentflow.ENOTFOUND, incidentflow.ErrorCode(err))
	})
}

// The insights' figures: incidents declared since a time, clocks by outcome.
func TestInsightFigures(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		hash := mustSaveProcess(t, s)
		inc, _, err := s.CreateIncident(ctx, newIncident(hash, nil))
		require.NoError(t, err)
		old := newIncident(hash, nil)
		old.DeclaredAt = inc.DeclaredAt.AddDate(0, -6, 0)
		_, _, err = s.CreateIncident(ctx, old)
		require.NoError(t, err)
		ack := inc.DeclaredAt.Add(3 * time.Minute)
		require.NoError(t, s.ApplyChange(ctx, incidentflow.Change{Ref: inc.Ref, At: ack, AcknowledgedAt: &ack, AcknowledgedBy: "alice",
			Deadlines: []incidentflow.Deadline{
				{ID: inc.Ref + "-D1", Title: "GDPR", StartAt: inc.DeclaredAt, DueAt: inc.DeclaredAt.Add(72 * time.Hour), Status: "met"},
				{ID: inc.Ref + "-D2", Title: "GDPR", StartAt: inc.DeclaredAt, DueAt: inc.DeclaredAt.Add(72 * time.Hour), Status: "missed"},
			}}))
		since := inc.DeclaredAt.AddDate(0, 0, -7)
		times, err := s.Times(ctx, since, nil)
		require.NoError(t, err)
		require.Len(t, times, 1, "the old incident is before the period")
		require.Equal(t, 3*time.Minute, times[0].AcknowledgedAt.Sub(times[0].DeclaredAt).Round(time.Second))
		counts, err := s.DeadlineCounts(ctx, since, nil)
		require.NoError(t, err)
		require.Equal(t, []store.DeadlineCount{{Type: "engineering", Title: "GDPR", Status: "met", Count: 1}, {Type: "engineering", Title: "GDPR", Status: "missed", Count: 1}}, counts)
	})
}

// A sign-in flow is taken once, and not after it expired.
func TestSignInFlows(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		require.NoError(t, s.BeginSignIn(ctx, "state-1", store.SignInFlow{Verifier: "v", Nonce: "n", Next: "/incidents", ExpiresAt: time.Now().Add(time.Minute)}))
		f, err := s.FinishSignIn(ctx, "state-1")
		require.NoError(t, err)
		require.Equal(t, "v", f.Verifier)
		require.Equal(t, "n", f.Nonce)
		require.Equal(t, "/incidents", f.Next)
		_, err = s.FinishSignIn(ctx, "state-1")
		require.Equal(t, incidentflow.EUNAUTHORIZED, incidentflow.ErrorCode(err), "a flow is taken once")
		require.NoError(t, s.BeginSignIn(ctx, "state-2", store.SignInFlow{Verifier: "v", Nonce: "n", Next: "/", ExpiresAt: time.Now().Add(-time.Second)}))
		_, err = s.FinishSignIn(ctx, "state-2")
		require.Equal(t, incidentflow.EUNAUTHORIZED, incidentflow.ErrorCode(err), "an expired flow is refused")
		require.NoError(t, s.PruneSignIns(ctx))
	})
}
