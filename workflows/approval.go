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
	// Reminded counts the reminders sent while it waits, and RemindAt is
	// when the next is due (an approval with remind_every).
	Reminded int        `json:"reminded,omitempty"`
	RemindAt *time.Time `json:"remind_at,omitempty"`
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
	if ap.RemindEvery != nil {
		act.Waiting += ", reminding every " + ap.RemindEvery.String()
	}
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
	summary := fmt.Sprintf("%s: waiting up to %s for the %s", s.Label(), ap.Timeout, ap.Role)
	if ap.RemindEvery != nil {
		if r.chase(ctx, s, ref, p, summary) != nil {
			return false
		}
	} else if _, err := awaitWithin(ctx, timeout, summary, approved); err != nil {
		return false
	}
	r.output(s, "approved", approved())
	r.output(s, "by", p.By)
	r.output(s, "timed_out", !approved())
	if approved() {
		return f.Failed
	}
	r.record(ctx, incidentflow.Change{}, r.event(ctx, "approval_timed_out", ref, "",
		fmt.Sprintf("%s: the %s did not approve within %s", s.Label(), ap.Role, ap.Timeout), nil))
	f.Phase = "on_timeout"
	return r.steps(ctx, ap.OnTimeout, path+".on_timeout") || f.Failed
}

// chase waits for approval p until it is given or times out, reminding
// the approval's remind targets every remind_every meanwhile; a reminder
// that fails for good marks the step's frame failed. It returns an error
// when the run was cancelled. A new run carries on from p's count and
// next reminder time.
func (r *run) chase(ctx workflow.Context, s *dsl.Step, ref string, p *PendingApproval, summary string) error {
	ap := s.Approval
	approved := func() bool { return p.By != "" }
	if p.RemindAt == nil {
		next := ap.RemindEvery.After(p.Since, r.in.Calendar)
		p.RemindAt = &next
	}
	for !approved() {
		wake, reminding := *p.RemindAt, true
		if p.Until != nil && !p.Until.After(wake) {
			wake, reminding = *p.Until, false
		}
		wait := summary
		if reminding {
			wait = fmt.Sprintf("%s: reminder %d in %s", s.Label(), p.Reminded+1, ap.RemindEvery)
		}
		if ok, err := awaitWithin(ctx, max(wake.Sub(workflow.Now(ctx)), time.Millisecond), wait, approved); err != nil || ok || !reminding {
			return err
		}
		r.record(ctx, incidentflow.Change{}, r.event(ctx, "approval_reminded", ref, "",
			fmt.Sprintf("%s: reminder %d to %s, the %s has not approved since %s", s.Label(), p.Reminded+1, targetNames(ap.Remind, r.state.Roles), ap.Role, r.localTime(p.Since)),
			map[string]any{"reminder": p.Reminded + 1}))
		// The reminder goes out beside the wait: a channel that is down
		// (its delivery retrying for an hour) holds back neither the
		// approval nor its timeout. A new run that took over mid-delivery
		// sends it again, under the same key, a no-op.
		f := frame(ctx)
		key, msg := fmt.Sprintf("%s/remind-%d", f.Key, p.Reminded+1), r.reminder(ctx, s, ref, p)
		workflow.Go(ctx, func(c workflow.Context) {
			if r.deliver(c, s, ref, key, ap.Remind, msg) {
				f.Failed = true
			}
		})
		next := ap.RemindEvery.After(*p.RemindAt, r.in.Calendar)
		p.Reminded, p.RemindAt = p.Reminded+1, &next
		r.touch()
	}
	return nil
}

// reminder is the message of an approval's next reminder: the step's
// remind_message, else one saying what waits since when, with the approve
// link for this approval (added when a remind_message has none).
func (r *run) reminder(ctx workflow.Context, s *dsl.Step, ref string, p *PendingApproval) string {
	ap := s.Approval
	link := " Approve: " + dsl.LinkMarker(dsl.LinkApprove, dsl.ApprovalTarget([]int{p.Seq}))
	if ap.RemindMessage != "" {
		f := r.messageFacts(s) // what any message sees, the clocks' outputs too
		f.Approvals = []int{p.Seq}
		msg, err := dsl.Render(ap.RemindMessage, dsl.TemplateData(f, r.in.Links))
		if err == nil && !dsl.HasLink(msg, dsl.LinkApprove) {
			msg += link
		}
		if err == nil {
			return msg
		}
		r.record(ctx, incidentflow.Change{}, r.event(ctx, "step_failed", ref, "",
			fmt.Sprintf("%s: the reminder could not be written (%v); sending the usual reminder instead", s.Label(), err), nil))
	}
	what := ""
	if s.Name != "" || s.ID != "" {
		what = ": " + s.Label()
	}
	msg := fmt.Sprintf("Reminder: %s (%s) still waits for the %s's approval%s. Asked %s", r.state.Ref, dsl.Unlinked(r.state.Title), ap.Role, what, r.localTime(p.Since))
	if p.Until != nil {
		msg += "; it times out " + r.localTime(*p.Until)
	}
	return msg + "." + link
}

// targetNames writes targets for the timeline, with who holds each role.
func targetNames(targets []dsl.Target, roles map[string]string) string {
	names := make([]string, len(targets))
	for i, t := range targets {
		names[i] = t.Kind + ":" + t.ID
		if holder := roles[t.ID]; t.Kind == "role" && holder != "" {
			names[i] = fmt.Sprintf("the %s (%s)", t.ID, holder)
		} else if t.Kind == "role" {
			names[i] = fmt.Sprintf("the %s (nobody holds it yet)", t.ID)
		}
	}
	return strings.Join(names, ", ")
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
