package workflows_test

import (
	"encoding/json"
	"time"

	"github.com/incidentflow/incidentflow/workflows"
)

// Publish keeps a state a run published, as the worker's sink does.
func (m *memStore) Publish(_ string, version int64, _ time.Time, state json.RawMessage) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.published = append(m.published, published{version, state})
}

type published struct {
	version int64
	state   json.RawMessage
}

// stateOnly counts the changes that carried the state alone: each would be
// a marker in the history.
func (m *memStore) stateOnly() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, c := range m.changes {
		if c.State != nil && len(c.Events)+len(c.Tasks)+len(c.Deadlines)+len(c.Roles) == 0 && c.Fields == nil {
			n++
		}
	}
	return n
}

// recordedState is the newest state the run gave the store, with a change
// or published.
func (m *memStore) recordedState() (st workflows.State, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var newest json.RawMessage
	version := int64(-1)
	for _, c := range m.changes {
		if c.State != nil && c.StateVersion > version {
			newest, version = c.State, c.StateVersion
		}
	}
	for _, p := range m.published {
		if p.version > version {
			newest, version = p.state, p.version
		}
	}
	if newest == nil {
		return st, false
	}
	return st, json.Unmarshal(newest, &st) == nil
}

const approvalProcess = `
process: p
title: P
severities: [major]
roles: [dpo]
steps:
  - set: {roles: {dpo: carol}}
  - id: notice
    name: DPO approves
    approval: {role: dpo, timeout: 1d}
  - wait: {for: status == "resolved"}
  - set: {status: closed}
`

// The store holds the run's state as it stands, even when it moved with no
// timeline event to carry it (an approval beginning to wait), so that reads
// need not ask the run; and the state it leaves at the close.
func (s *IncidentSuite) TestTheStoreHoldsTheStateAsItMoves() {
	s.env.RegisterDelayedCallback(func() {
		st, ok := s.store.recordedState()
		s.Require().True(ok, "no state recorded")
		s.True(st.StateRecorded)
		s.Require().Len(st.Approvals, 1, "the approval waiting is recorded")
		s.Equal("DPO approves", st.Approvals[0].Step)
		s.Equal(s.state(), st, "what the store holds is what the run says")
	}, time.Minute)
	s.update(2*time.Minute, workflows.UpdateApprove, workflows.ApproveInput{By: "carol"}, "")
	s.env.RegisterDelayedCallback(func() {
		st, _ := s.store.recordedState()
		s.Empty(st.Approvals, "the approval given is no longer waiting")
		s.Equal(s.state(), st)
	}, 3*time.Minute)
	s.update(time.Hour, workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "resolved", By: "bob"}, "")
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input(approvalProcess, "major", nil))
	s.Require().NoError(s.env.GetWorkflowError())
	st, _ := s.store.recordedState()
	s.Equal("closed", st.Status)
	s.Empty(st.Active, "the run left nothing running")
	s.Zero(s.store.stateOnly(), "a state written on its own is a marker in the history")
	s.NotEmpty(s.store.published, "the state moved with no event to carry it, and was published")
}

// A run begun before the feature records its state only with its changes,
// its history as it was, and says so: readers ask it live.
func (s *IncidentSuite) TestAnOlderRunRecordsItsStateOnlyWithItsChanges() {
	in := s.input(approvalProcess, "major", nil)
	in.Features = workflows.FeaturePagesBeside
	s.env.RegisterDelayedCallback(func() {
		st, ok := s.store.recordedState()
		s.Require().True(ok)
		s.False(st.StateRecorded)
	}, time.Minute)
	s.update(2*time.Minute, workflows.UpdateApprove, workflows.ApproveInput{By: "carol"}, "")
	s.update(time.Hour, workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "resolved", By: "bob"}, "")
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, in)
	s.Require().NoError(s.env.GetWorkflowError())
	s.Zero(s.store.stateOnly(), "an older run wrote a change of its own")
	s.Empty(s.store.published, "an older run published its state")
}
