package activities_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/incidentflow/incidentflow/activities"
	"github.com/incidentflow/incidentflow/channels"
	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/links"
	"github.com/incidentflow/incidentflow/store/storetest"
)

// Regression tests for holes hostile testing found in people and access.

// recorder keeps the text of every message sent through it.
type recorder struct {
	texts   []string
	actions [][]channels.Action
}

func (r *recorder) Send(_ context.Context, m channels.Message) error {
	r.texts = append(r.texts, m.Message)
	r.actions = append(r.actions, m.Actions)
	return nil
}

// A link acts as its person, so it must reach only that person: a person
// reached through a shared channel (a Slack incoming webhook posts to one
// channel everyone in it reads; the directory's default_channel is often
// one) must not have their approval link posted there for anyone to press.
func TestPersonalLinksStayOutOfSharedChannels(t *testing.T) {
	st, ref := setup(t, storetest.Dialects[0])
	dir := &dsl.Directory{
		People:         []dsl.Person{{ID: "dan", Name: "Dan Weber"}},
		Channels:       []dsl.Channel{{ID: "incidents-slack", Type: "slack", WebhookURLEnv: "SLACK_INCIDENTS_WEBHOOK"}},
		DefaultChannel: "incidents-slack",
	}
	signer, err := links.New([]byte(strings.Repeat("s", links.MinSecret)))
	require.NoError(t, err)
	slack := &recorder{}
	acts := &activities.Activities{Store: st, Directory: dir, Channels: map[string]channels.Sender{"incidents-slack": slack}, Links: signer}
	var env testsuite.WorkflowTestSuite
	aenv := env.NewTestActivityEnvironment()
	aenv.RegisterActivity(acts)
	_, err = aenv.ExecuteActivity(acts.Notify, activities.NotifyInput{Incident: channels.Incident{Ref: ref, URL: "http://app/v1/incidents/" + ref},
		Key: "incident-" + ref + "/ask#1", Step: "ask", Event: "notify", Targets: []dsl.Target{{Kind: "role", ID: "dpo"}},
		Roles: map[string]string{"dpo": "dan"}, Message: "Approve telling data subjects: " + dsl.LinkMarker(dsl.LinkApprove, ""),
		Actions: "http://app/act/"})
	require.NoError(t, err)
	require.Len(t, slack.texts, 1)
	require.NotContains(t, slack.texts[0], "/act/", "dan's approval link went to a shared Slack channel: anyone there approves as the DPO")
}

// A page to a person through their own pager (a personal webhook) hands on
// its action links as data too, each with its name, what its button says
// and its URL, for the pager app to show as buttons; a shared channel's
// message has none.
func TestActionLinksAreHandedOnAsActions(t *testing.T) {
	st, ref := setup(t, storetest.Dialects[0])
	dir := &dsl.Directory{
		People:         []dsl.Person{{ID: "dan", Name: "Dan Weber", PageVia: "pager"}},
		Channels:       []dsl.Channel{{ID: "pager", Type: "webhook", Personal: true}, {ID: "ops", Type: "slack", WebhookURLEnv: "SLACK"}},
		DefaultChannel: "ops",
	}
	signer, err := links.New([]byte(strings.Repeat("s", links.MinSecret)))
	require.NoError(t, err)
	pager, ops := &recorder{}, &recorder{}
	acts := &activities.Activities{Store: st, Directory: dir, Channels: map[string]channels.Sender{"pager": pager, "ops": ops}, Links: signer}
	var env testsuite.WorkflowTestSuite
	aenv := env.NewTestActivityEnvironment()
	aenv.RegisterActivity(acts)
	_, err = aenv.ExecuteActivity(acts.Notify, activities.NotifyInput{Incident: channels.Incident{Ref: ref, URL: "http://app/v1/incidents/" + ref},
		Key: "incident-" + ref + "/page#1", Step: "page", Event: "page", Level: 1,
		Targets: []dsl.Target{{Kind: "person", ID: "dan"}, {Kind: "channel", ID: "ops"}}, Message: "Checkout is down", Actions: "http://app/act/"})
	require.NoError(t, err)
	require.Len(t, pager.actions, 1)
	require.Len(t, pager.actions[0], 1)
	got := pager.actions[0][0]
	require.Equal(t, "acknowledge", got.Name)
	require.Equal(t, "Acknowledge", got.Label)
	require.True(t, strings.HasPrefix(got.URL, "http://app/act/"), got.URL)
	require.Contains(t, pager.texts[0], got.URL, "the text holds the same link")
	l, err := signer.Parse(strings.TrimPrefix(got.URL, "http://app/act/"), time.Now())
	require.NoError(t, err)
	require.Equal(t, "dan", l.Person)
	require.Len(t, ops.actions, 1)
	require.Empty(t, ops.actions[0], "a shared channel gets no action links")
}
