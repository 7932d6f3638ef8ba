package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/dsl"
)

// PendingApproval is an approval step waiting, as the state query shows it.
type PendingApproval struct {
	Step  string     `json:"step"`
	Role  string     `json:"role"`
	Since time.Time  `json:"since"`
	Until *time.Time `json:"until,omitempty"`
	// By is who approved; empty while it waits.
	By string `json:"by,omitempty"`
	// Seq numbers the incident's approvals in the order they began, so
	// that an approve link gives only those it was sent for.
	Seq int `json:"seq,omitempty"`
}

// ApproveInput is the approve update's argument: who approves, and which
// approval when several wait (by step name or id; empty means all the
// approver may give).
type ApproveInput struct {
	By   string `json:"by" limit:"line,100"`
	Step string `json:"step,omitempty" limit:"line,100"`
	Note string `json:"note,omitempty" limit:"text,10000"`
	// Seqs, when given, are the approvals (by Seq) an approve link was sent
	// for: only those are given.
	Seqs []int `json:"seqs,omitempty" limit:"json,200"`
}

// UpdateApprove gives the approvals a person may give.
const UpdateApprove = "approve"

// approval waits until the holder of the role approves, or its timeout.
func (r *run) approval(ctx workflow.Context, s *dsl.Step, ref, path string) (failed bool) {
	ap := s.Approval
	f, rf := frame(ctx), r.resumed(ctx)
	if rf != nil && rf.Phase == "on_timeout" {
		return r.resumeNested(ctx, rf, ap.OnTimeout, path+".on_timeout")
	}
	var p *PendingApproval
	if rf != nil { // the approval a previous run began
		for _, x := range r.state.Approvals {
			if x.Step == s.Label() && x.By == "" {
				p = x
			}
		}
		if p != nil && p.Seq == 0 { // carried over by a version that did not number them
			r.state.ApprovalCount++
			p.Seq = r.state.ApprovalCount
		}
	}
	act := Activity{Step: s.Label(), Kind: "approval", Waiting: "waiting for the " + ap.Role + " to approve"}
	var timeout time.Duration
	if p == nil {
		r.state.ApprovalCount++
		p = &PendingApproval{Step: s.Label(), Role: ap.Role, Since: workflow.Now(ctx), Seq: r.state.ApprovalCount}
		if ap.Timeout != nil {
			until := ap.Timeout.After(p.Since, r.in.Calendar)
			timeout, p.Until = until.Sub(p.Since), &until
		}
		r.state.Approvals = append(r.state.Approvals, p)
		r.touch() // the approver's work lists it: the store must know at once
	} else if p.Until != nil {
		timeout = max(p.Until.Sub(workflow.Now(ctx)), time.Millisecond)
	}
	act.Until = p.Until
	done := r.activate(ctx, act)
	defer func() {
		r.state.Approvals = slices.DeleteFunc(r.state.Approvals, func(x *PendingApproval) bool { return x == p })
		r.touch()
		done()
	}()
	approved := func() bool { return p.By != "" }
	if _, err := awaitWithin(ctx, timeout, fmt.Sprintf("%s: waiting up to %s for the %s", s.Label(), ap.Timeout, ap.Role), approved); err != nil {
		return false
	}
	r.output(s, "approved", approved())
	r.output(s, "by", p.By)
	r.output(s, "timed_out", !approved())
	if approved() {
		return false
	}
	r.record(ctx, incidentflow.Change{}, r.event(ctx, "approval_timed_out", ref, "",
		fmt.Sprintf("%s: the %s did not approve within %s", s.Label(), ap.Role, ap.Timeout), nil))
	f.Phase = "on_timeout"
	return r.steps(ctx, ap.OnTimeout, path+".on_timeout")
}

// approveTarget is what an approve link in the message of step s rendered
// now gives: the approvals that begin right after s (its message asks for
// them), else those waiting now, else the next to begin.
func (r *run) approveTarget(s *dsl.Step) []int {
	var seqs []int
	if s != nil && s.ApprovalsAfter > 0 {
		for n := range s.ApprovalsAfter {
			seqs = append(seqs, r.state.ApprovalCount+1+n)
		}
		return seqs
	}
	for _, p := range r.state.Approvals {
		if p.By == "" && p.Seq > 0 {
			seqs = append(seqs, p.Seq)
		}
	}
	if len(seqs) == 0 {
		seqs = append(seqs, r.state.ApprovalCount+1)
	}
	return seqs
}

// wanted reports whether an approve request asks for approval p.
func (in ApproveInput) wanted(p *PendingApproval) bool {
	return (in.Step == "" || in.Step == p.Step) && (len(in.Seqs) == 0 || slices.Contains(in.Seqs, p.Seq))
}

// approvable returns the waiting approvals that in may give.
func (r *run) approvable(in ApproveInput) []*PendingApproval {
	var out []*PendingApproval
	for _, p := range r.state.Approvals {
		if p.By == "" && r.state.Roles[p.Role] == in.By && in.wanted(p) {
			out = append(out, p)
		}
	}
	return out
}

func (r *run) validateApprove(in ApproveInput) error {
	if err := r.validateOpen(in); err != nil {
		return err
	}
	if strings.TrimSpace(in.By) == "" {
		return refused("say who approves: \"by\" is required")
	}
	var waiting []*PendingApproval
	for _, p := range r.state.Approvals {
		if p.By == "" && in.wanted(p) {
			waiting = append(waiting, p)
		}
	}
	if len(waiting) == 0 && len(in.Seqs) > 0 {
		return refused("the approval this link was sent for no longer waits on incident %s: it was given, or it ended", r.state.Ref)
	}
	if len(waiting) == 0 && in.Step != "" {
		return refused("no approval named %q waits on incident %s", in.Step, r.state.Ref)
	}
	if len(waiting) == 0 {
		return refused("nothing on incident %s waits for an approval", r.state.Ref)
	}
	if len(r.approvable(in)) == 0 {
		var holders []string
		for _, p := range waiting {
			holder := r.state.Roles[p.Role]
			if holder == "" {
				holder = "nobody yet: assign the role first"
			}
			holders = append(holders, fmt.Sprintf("%s needs the %s (%s)", p.Step, p.Role, holder))
		}
		return refused("%s cannot approve: %s", in.By, strings.Join(holders, "; "))
	}
	return nil
}

func (r *run) approve(ctx workflow.Context, in ApproveInput) (State, error) {
	var events []incidentflow.TimelineEvent
	for _, p := range r.approvable(in) {
		p.By = in.By
		msg := fmt.Sprintf("%s approved by %s, the %s", p.Step, in.By, p.Role)
		if in.Note != "" {
			msg += ": " + in.Note
		}
		events = append(events, r.event(ctx, "approved", "", in.By, msg, nil))
	}
	r.flush(ctx, r.record(ctx, incidentflow.Change{}, events...))
	return r.state, nil
}
