package activities_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/activities"
	"github.com/incidentflow/incidentflow/channels"
	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/store"
	"github.com/incidentflow/incidentflow/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// flaky fails its first sends with the given errors, then delivers.
type flaky struct {
	fail []error
	sent []string
}

func (f *flaky) Send(_ context.Context, m channels.Message) error {
	if len(f.fail) > 0 {
		err := f.fail[0]
		f.fail = f.fail[1:]
		if err != nil {
			return err
		}
	}
	to := m.Channel
	if m.Recipient != nil {
		to = m.Recipient.ID
	}
	f.sent = append(f.sent, to)
	return nil
}

func setup(t *testing.T, dialect string) (*store.Store, string) {
	t.Helper()
	s := storetest.Open(t, dialect)
	ctx := context.Background()
	require.NoError(t, s.SaveProcessVersion(ctx, store.ProcessVersion{Hash: "h", Type: "p", File: "p.yaml", YAML: "x", Snapshot: []byte("{}")}))
	inc, _, err := s.CreateIncident(ctx, incidentflow.Incident{Type: "p", Title: "T", Severity: "high", Status: "investigating",
		ProcessHash: "h", DeclaredAt: time.Now()})
	require.NoError(t, err)
	return s, inc.Ref
}

var directory = &dsl.Directory{
	People:         []dsl.Person{{ID: "alice", Name: "Alice"}, {ID: "bob", Name: "Bob", PageVia: "pager"}},
	Teams:          []dsl.Team{{ID: "sre", Members: []string{"alice", "bob"}}},
	Channels:       []dsl.Channel{{ID: "ops", Type: "console"}, {ID: "pager", Type: "webhook"}},
	DefaultChannel: "ops",
}

func TestNotify(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			st, ref := setup(t, dialect)
			ops, pager := &flaky{}, &flaky{}
			deliveries := activities.NewDeliveriesCounter(prometheus.NewRegistry())
			acts := &activities.Activities{Store: st, Directory: directory, Channels: map[string]channels.Sender{"ops": ops, "pager": pager}, Deliveries: deliveries}
			var env testsuite.WorkflowTestSuite
			aenv := env.NewTestActivityEnvironment()
			aenv.RegisterActivity(acts)
			in := activities.NotifyInput{Incident: channels.Incident{Ref: ref}, Key: "incident-" + ref + "/announce#1", Step: "announce", Event: "notify",
				Targets: []dsl.Target{{Kind: "team", ID: "sre"}, {Kind: "person", ID: "alice"}, {Kind: "role", ID: "lead"}, {Kind: "channel", ID: "ops"}},
				Message: "hello"}

			t.Run("TransientFailureRetriesOnlyWhatIsMissing", func(t *testing.T) {
				pager.fail = []error{errors.New("connection refused")}
				_, err := aenv.ExecuteActivity(acts.Notify, in)
				require.ErrorContains(t, err, "deliver to Bob: connection refused")
				require.Equal(t, []string{"alice", "ops"}, ops.sent)

				res, err := aenv.ExecuteActivity(acts.Notify, in)
				require.NoError(t, err)
				var out activities.NotifyResult
				require.NoError(t, res.Get(&out))
				require.Equal(t, 1, out.Sent)
				require.Equal(t, 2, out.Skipped, "alice and #ops were delivered by the first attempt")
				require.Equal(t, []string{"role:lead (nobody holds it)"}, out.Nobody)
				require.Equal(t, []string{"alice", "ops"}, ops.sent)
				require.Equal(t, []string{"bob"}, pager.sent)
				require.Equal(t, 2.0, testutil.ToFloat64(deliveries.WithLabelValues("ops", "sent")))
				require.Equal(t, 2.0, testutil.ToFloat64(deliveries.WithLabelValues("ops", "skipped")))
				require.Equal(t, 1.0, testutil.ToFloat64(deliveries.WithLabelValues("pager", "retrying")))
				require.Equal(t, 1.0, testutil.ToFloat64(deliveries.WithLabelValues("pager", "sent")))
				require.Equal(t, []string{"Could not deliver to Bob yet (attempt 1): connection refused; retrying"},
					messages(t, st, ref, "delivery_retrying"))
			})

			t.Run("PermanentFailureIsRecordedAndTheRestGoesOut", func(t *testing.T) {
				in := in
				in.Key = "incident-" + ref + "/announce#2"
				pager.fail = []error{incidentflow.Errorf(incidentflow.EPERMANENT, "webhook answered 400: bad payload")}
				res, err := aenv.ExecuteActivity(acts.Notify, in)
				require.NoError(t, err)
				var out activities.NotifyResult
				require.NoError(t, res.Get(&out))
				require.Equal(t, []string{"Bob"}, out.Failed)
				require.Equal(t, 2, out.Sent)
				d, err := st.Delivery(context.Background(), in.Key+"/person:bob")
				require.NoError(t, err)
				require.Equal(t, store.DeliveryFailed, d.Status)

				require.Equal(t, []string{"Could not deliver to Bob: webhook answered 400: bad payload"},
					messages(t, st, ref, "delivery_failed"))

				// A retry of the attempt (another delivery of it failed
				// for a while) sends nothing again, and Bob stays failed.
				res, err = aenv.ExecuteActivity(acts.Notify, in)
				require.NoError(t, err)
				out = activities.NotifyResult{}
				require.NoError(t, res.Get(&out))
				require.Equal(t, []string{"Bob"}, out.Failed, "a delivery failed for good is reported failed on retry, not skipped")
				require.Equal(t, 2, out.Skipped)
				require.Equal(t, 2.0, testutil.ToFloat64(deliveries.WithLabelValues("pager", "failed")))
				require.Equal(t, []string{"bob"}, pager.sent, "nothing is sent to Bob again")
			})
		})
	}
}

// messages are the timeline's messages of one kind for the incident, in order.
func messages(t *testing.T, st *store.Store, ref, kind string) []string {
	t.Helper()
	tl, err := st.Timeline(context.Background(), ref)
	require.NoError(t, err)
	var out []string
	for _, e := range tl {
		if e.Kind == kind {
			out = append(out, e.Message)
		}
	}
	return out
}

func TestRecordChangeOfUnknownIncidentIsPermanent(t *testing.T) {
	st, _ := setup(t, store.SQLite)
	acts := &activities.Activities{Store: st, Directory: directory}
	var env testsuite.WorkflowTestSuite
	aenv := env.NewTestActivityEnvironment()
	aenv.RegisterActivity(acts)
	_, err := aenv.ExecuteActivity(acts.RecordChange, incidentflow.Change{Ref: "INC-404", At: time.Now()})
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	require.True(t, appErr.NonRetryable())
}
