package workflows_test

// Tasks that follow their role to whoever takes it.

import (
	"time"

	"github.com/incidentflow/incidentflow/workflows"
)

const followProcess = `
process: p
title: P
severities: [high]
roles: [lead]
steps:
  - parallel:
      - id: report
        task: {owner: role:lead, title: "Write the report", wait: true}
      - id: refunds
        task: {owner: person:alice, title: "Refund the orders", wait: true}
  - set: {status: closed}
`

// A task for a role nobody holds goes to whoever takes the role, and
// follows it when it changes hands; a task owned by a person stays with
// them, and a done task stays with whoever did it.
func (s *IncidentSuite) TestTaskFollowsItsRole() {
	owners := func() (string, string) {
		st := s.state()
		s.Require().Len(st.Tasks, 2)
		return st.Tasks[0].Owner, st.Tasks[1].Owner
	}
	s.env.RegisterDelayedCallback(func() {
		report, refunds := owners()
		s.Equal("", report, "nobody holds the lead role yet")
		s.Equal("alice", refunds)
		s.Equal("lead", s.state().Tasks[0].Role)
	}, time.Hour)
	s.update(2*time.Hour, workflows.UpdateAssignRole, workflows.AssignRoleInput{Role: "lead", Person: "bob", By: "carol"}, "")
	s.env.RegisterDelayedCallback(func() {
		report, refunds := owners()
		s.Equal("bob", report, "the task followed the role")
		s.Equal("alice", refunds, "a person's task does not move")
	}, 2*time.Hour+time.Minute)
	s.update(3*time.Hour, workflows.UpdateAssignRole, workflows.AssignRoleInput{Role: "lead", Person: "carol", By: "alice"}, "")
	s.env.RegisterDelayedCallback(func() {
		report, _ := owners()
		s.Equal("carol", report, "the task followed the role to its new holder")
	}, 3*time.Hour+time.Minute)
	s.update(4*time.Hour, workflows.UpdateCompleteTask, workflows.CompleteTaskInput{Task: "INC-7-T1", By: "carol"}, "")
	s.update(5*time.Hour, workflows.UpdateAssignRole, workflows.AssignRoleInput{Role: "lead", Person: "bob", By: "alice"}, "")
	s.env.RegisterDelayedCallback(func() {
		report, _ := owners()
		s.Equal("carol", report, "a done task does not move")
	}, 5*time.Hour+time.Minute)
	s.update(6*time.Hour, workflows.UpdateCompleteTask, workflows.CompleteTaskInput{Task: "INC-7-T2", By: "alice"}, "")
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input(followProcess, "high", nil))
	s.NoError(s.env.GetWorkflowError())

	s.Equal([]string{
		"alice: You own follow-up INC-7-T2 of INC-7: Refund the orders. Mark it done: http://api/v1/incidents/INC-7",
		"bob: You own follow-up INC-7-T1 of INC-7: Write the report. Mark it done: http://api/v1/incidents/INC-7",
		"carol: You own follow-up INC-7-T1 of INC-7: Write the report. Mark it done: http://api/v1/incidents/INC-7",
	}, s.sent.lines(), "each new owner is told, once")
	s.Equal([]string{
		"Follow-up INC-7-T1 'Write the report' is now owned by bob, who took the lead role",
		"Follow-up INC-7-T1 'Write the report' is now owned by carol, who took the lead role from bob",
	}, s.store.messages("task_owner_changed"))
	s.Contains(s.store.messages("task_created"), "Follow-up INC-7-T1 created: Write the report, for the lead, which nobody holds yet: whoever takes it owns the task")
	var stored []string // what the store heard of T1, in order: its list of open work reads it
	for _, c := range s.store.changes {
		for _, t := range c.Tasks {
			if t.ID == "INC-7-T1" {
				stored = append(stored, t.Owner+" "+t.Status)
			}
		}
	}
	s.Equal([]string{" open", "bob open", "carol open", "carol done"}, stored)
}

// A set step that gives the role moves the task as an update does.
func (s *IncidentSuite) TestTaskFollowsARoleTheProcessGives() {
	process := `
process: p
title: P
severities: [high]
roles: [lead]
steps:
  - task: {owner: role:lead, title: "Write the report"}
  - sleep: {for: 1h}
  - set: {roles: {lead: bob}}
  - sleep: {for: 1h}
  - set: {status: closed}
`
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input(process, "high", nil))
	s.NoError(s.env.GetWorkflowError())
	s.Equal([]string{"bob: You own follow-up INC-7-T1 of INC-7: Write the report. Mark it done: http://api/v1/incidents/INC-7"}, s.sent.lines())
	s.Equal([]string{"Follow-up INC-7-T1 'Write the report' is now owned by bob, who took the lead role"}, s.store.messages("task_owner_changed"))
}

// A run started before tasks followed their roles goes on as it began:
// its task keeps the owner it was created with.
func (s *IncidentSuite) TestTaskOfAnEarlierRunStays() {
	s.update(2*time.Hour, workflows.UpdateAssignRole, workflows.AssignRoleInput{Role: "lead", Person: "bob", By: "carol"}, "")
	s.env.RegisterDelayedCallback(func() {
		st := s.state()
		s.Equal("", st.Tasks[0].Owner)
		s.Equal("", st.Tasks[0].Role)
	}, 3*time.Hour)
	s.update(4*time.Hour, workflows.UpdateCompleteTask, workflows.CompleteTaskInput{Task: "INC-7-T1", By: "bob"}, "")
	s.update(5*time.Hour, workflows.UpdateCompleteTask, workflows.CompleteTaskInput{Task: "INC-7-T2", By: "alice"}, "")
	in := s.input(followProcess, "high", nil)
	in.Features = workflows.FeaturePagesBeside
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, in)
	s.NoError(s.env.GetWorkflowError())
	s.Empty(s.store.messages("task_owner_changed"))
	s.Len(s.sent.lines(), 1, "only alice, told at the start")
}
