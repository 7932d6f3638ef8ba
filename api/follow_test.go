package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow"
)

// The write-up of a major incident is asked of the lead before anyone
// leads: when bob takes the role, then alice takes it over, the follow-up
// is each one's in turn — on the incident's list of tasks, in their own
// list of work, and told to them — and leaves the list of whoever had it.
func TestTaskFollowsTheLeadThroughTheAPI(t *testing.T) {
	s := setup(t)
	ref, task := s.resolvedWithWriteUp(t, "Search is slow")
	owner := func() string {
		r := s.do(t, "GET", "/v1/incidents/"+ref+"/tasks", "")
		require.Equal(t, http.StatusOK, r.status, r.raw)
		for _, x := range r.body["tasks"].([]any) {
			if x := x.(map[string]any); x["id"] == task {
				o, _ := x["owner"].(string)
				return o
			}
		}
		return "(no task)"
	}
	require.Eventually(t, func() bool { return owner() == "" }, 10*time.Second, 50*time.Millisecond, "the write-up is asked of the lead, whom nobody is")
	mine := func(person string) bool {
		w, err := s.server.Work(context.Background(), incidentflow.Principal{Kind: incidentflow.PersonPrincipal, ID: person, Role: incidentflow.RoleResponder})
		require.NoError(t, err)
		for _, x := range w.Tasks {
			if x.ID == task {
				return true
			}
		}
		return false
	}

	for i, step := range []struct{ person, before string }{{"bob", ""}, {"alice", "bob"}} {
		r := s.do(t, "POST", "/v1/incidents/"+ref+"/roles", `{"role":"lead","person":"`+step.person+`"}`, s.as(t, "carol")...)
		require.Equal(t, http.StatusOK, r.status, r.raw)
		// The answer comes once the store has the new owner.
		require.Equal(t, step.person, owner())
		require.True(t, mine(step.person), "in %s's work", step.person)
		if step.before != "" {
			require.False(t, mine(step.before), "no longer in %s's work", step.before)
		}
		var inState string
		for _, x := range r.body["state"].(map[string]any)["tasks"].([]any) {
			if x := x.(map[string]any); x["id"] == task {
				inState = x["owner"].(string) + " " + x["role"].(string)
			}
		}
		require.Equal(t, step.person+" lead", inState)
		require.Eventually(t, func() bool { return len(s.console.containing("You own follow-up "+task+" of "+ref)) == i+1 },
			10*time.Second, 50*time.Millisecond, "%s is told", step.person)
		require.Len(t, s.console.containing("("+step.person+") via #console: You own follow-up "+task), 1, "%v", s.console.containing(task))
	}
	require.Equal(t, http.StatusOK, s.do(t, "POST", "/v1/incidents/"+ref+"/status", `{"status":"closed"}`, s.as(t, "carol")...).status)
}
