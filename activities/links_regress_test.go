package activities_test

import (
	"context"
	"strings"
	"testing"

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
type recorder struct{ texts []string }

func (r *recorder) Send(_ context.Context, m channels.Message) error {
	r.texts = append(r.texts, m.Message)
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
