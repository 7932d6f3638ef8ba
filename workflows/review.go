package workflows

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/activities"
	"github.com/incidentflow/incidentflow/dsl"
)

// Review is a review step's meeting, as the state query shows it.
type Review struct {
	Step  string `json:"step"`
	Title string `json:"title"`
	// UID identifies the calendar event for good; Sequence counts its versions.
	UID      string    `json:"uid"`
	Sequence int       `json:"sequence"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	// Latest is the end of the window the review should happen in.
	Latest  time.Time  `json:"latest"`
	Held    bool       `json:"held"`
	HeldAt  *time.Time `json:"held_at,omitempty"`
	By      string     `json:"by,omitempty"`
	WriteUp string     `json:"write_up,omitempty"`
}

// MaxReschedule is how far ahead a review may be moved.
const MaxReschedule = 366 * 24 * time.Hour

// Update names of reviews.
const (
	UpdateReviewHeld       = "review_held"
	UpdateRescheduleReview = "reschedule_review"
)

// ReviewHeldInput marks a review held, with a link to its write-up.
type ReviewHeldInput struct {
	By      string `json:"by" limit:"line,100"`
	WriteUp string `json:"write_up,omitempty" limit:"line,2000"`
	Note    string `json:"note,omitempty" limit:"text,10000"`
	// Step picks the review when several wait (its name); empty means the only one.
	Step string `json:"step,omitempty" limit:"line,100"`
}

// RescheduleReviewInput moves a review; invitations go out again as updates
// of the same calendar event.
type RescheduleReviewInput struct {
	Start time.Time `json:"start"`
	By    string    `json:"by" limit:"line,100"`
	Step  string    `json:"step,omitempty" limit:"line,100"`
}

// review schedules the post-incident review, invites the attendees, reminds
// them before it, follows reschedules and waits until someone marks it held.
func (r *run) review(ctx workflow.Context, s *dsl.Step, ref, key string) (failed bool) {
	rv := s.Review
	now := workflow.Now(ctx)
	cal := r.in.Calendar
	data := dsl.TemplateData(r.messageFacts(s), r.in.Links)
	title, err := dsl.Render(rv.Title, data)
	description := ""
	if err == nil {
		description, err = dsl.Render(rv.Description, data)
	}
	if err != nil {
		r.stepFailed(ctx, s, ref, fmt.Sprintf("%s: the invitation could not be written (%v); using the incident title", s.Label(), err))
		title, failed = fmt.Sprintf("Post-incident review: %s %s", r.state.Ref, dsl.Unlinked(r.state.Title)), true
	}
	f, rf := frame(ctx), r.resumed(ctx)
	var p *Review
	invited := -1 // the sequence the attendees last heard of
	var reminders []time.Duration
	// The frame says what the attendees have had: the sequence they were
	// last invited to (-1: none yet) and the reminders still to come, each
	// written once its delivery went out, so a new run sends again what the
	// previous one had begun. (Runs before wrote 0 before the first
	// invitation had gone out, and a new run sent none.)
	if rf == nil {
		f.Invited = -1
	} else { // the review a previous run scheduled
		for _, x := range r.state.Reviews {
			if x.UID == key+"@incidentflow" {
				p = x
			}
		}
		invited, reminders, failed = rf.Invited, rf.Reminders, rf.Failed
	}
	if p == nil {
		start := cal.MeetingSlot(rv.Notice.After(now, cal), rv.Length.Fixed)
		p = &Review{Step: s.Label(), Title: title, UID: key + "@incidentflow", Start: start, End: start.Add(rv.Length.Fixed),
			Latest: rv.Within.After(now, cal)}
		r.state.Reviews = append(r.state.Reviews, p)
	}
	defer func() { r.details(ctx) }()

	changed := func() bool { return p.Held || p.Sequence != invited }
	for !p.Held {
		if p.Sequence != invited {
			invited = p.Sequence
			if r.invite(ctx, s, ref, key, p, description) {
				failed, f.Failed = true, true
			}
			// Reminders count from the meeting's new time; those already past are dropped.
			reminders = reminders[:0]
			for _, d := range rv.RemindBefore {
				if p.Start.Add(-d.Fixed).After(workflow.Now(ctx)) {
					reminders = append(reminders, d.Fixed)
				}
			}
			slices.SortFunc(reminders, func(a, b time.Duration) int { return int(b - a) }) // the earliest reminder first
		}
		f.Invited, f.Reminders = invited, reminders
		act := Activity{Step: s.Label(), Kind: "review", Waiting: "waiting for the review on " + r.localTime(p.Start) + " to be marked held", Until: &p.Start}
		done := r.activate(ctx, act)
		var timeout time.Duration
		summary := ""
		if len(reminders) > 0 {
			timeout = p.Start.Add(-reminders[0]).Sub(workflow.Now(ctx))
			summary = fmt.Sprintf("%s: reminding the attendees %s before it", s.Label(), dsl.Duration{Fixed: reminders[0]})
			// A reminder whose time passed while the invitation was being
			// delivered, or before this run resumed it, goes out now; the
			// first runs waited for ever instead.
			if timeout <= 0 && workflow.GetVersion(ctx, "review-late-reminder", workflow.DefaultVersion, 1) == 1 {
				timeout = time.Millisecond
			}
		}
		moved, err := awaitWithin(ctx, timeout, summary, changed)
		done()
		if err != nil {
			return false // the incident is over
		}
		if !moved && len(reminders) > 0 {
			d := reminders[0]
			reminders = reminders[1:]
			msg := fmt.Sprintf("Reminder: %s is at %s, in %s.", p.Title, r.localTime(p.Start), dsl.Duration{Fixed: d})
			if r.deliverWith(ctx, s, ref, fmt.Sprintf("%s/v%d/remind-%s", key, p.Sequence, dsl.Duration{Fixed: d}), "reminder", rv.Attendees, msg, rv.Via, nil) {
				failed, f.Failed = true, true
			}
			f.Reminders = reminders
		}
	}
	r.output(s, "at", p.Start)
	r.output(s, "held", true)
	r.output(s, "by", p.By)
	r.output(s, "write_up", p.WriteUp)
	return failed
}

// invite sends the attendees the invitation for the review's current version.
func (r *run) invite(ctx workflow.Context, s *dsl.Step, ref, key string, p *Review, description string) (failed bool) {
	verb, kind := "scheduled", "review_scheduled"
	if p.Sequence > 0 {
		verb, kind = "moved", "review_rescheduled"
	}
	when := r.localTime(p.Start)
	msg := fmt.Sprintf("%s is %s for %s (%s). Once it is held, mark it held: %s", p.Title, verb, when, dsl.Duration{Fixed: p.End.Sub(p.Start)}, dsl.LinkMarker(dsl.LinkReview, ""))
	note := ""
	if p.Start.After(p.Latest) {
		note = fmt.Sprintf("; no slot in working hours fits before %s, so this is the first after it", r.localTime(p.Latest))
	}
	r.record(ctx, incidentflow.Change{}, r.event(ctx, kind, ref, "", fmt.Sprintf("%s %s for %s%s", s.Label(), verb, when, note),
		map[string]any{"start": p.Start, "end": p.End, "uid": p.UID, "sequence": p.Sequence}))
	inv := &incidentflow.Invitation{UID: p.UID, Sequence: p.Sequence, Start: p.Start, End: p.End, Summary: p.Title,
		Description: description, Stamp: workflow.Now(ctx), TimeZone: r.in.Calendar.Location().String()}
	return r.deliverWith(ctx, s, ref, fmt.Sprintf("%s/v%d", key, p.Sequence), "review", s.Review.Attendees, msg, s.Review.Via, inv)
}

// deliverWith is deliver for reviews: their own event, channel and invitation.
func (r *run) deliverWith(ctx workflow.Context, s *dsl.Step, ref, key, event string, targets []dsl.Target, msg, via string, inv *incidentflow.Invitation) (failed bool) {
	actx := workflow.WithActivityOptions(ctx, activityOptions(s))
	in := activities.NotifyInput{Incident: r.channelIncident(), Actions: r.in.Links.Actions, Key: key, Step: ref, Event: event,
		Targets: targets, Roles: maps.Clone(r.state.Roles), Message: msg, Via: via, Invitation: inv}
	return r.notifyResult(ctx, s, ref, workflow.ExecuteActivity(actx, a.Notify, in))
}

// cancelReviews tells the attendees of every review not yet held that it
// is off, as an update of the same calendar event (its UID, the next
// SEQUENCE, METHOD:CANCEL): the incident closed before it was held.
func (r *run) cancelReviews(ctx workflow.Context) {
	steps := map[string]*dsl.Step{}
	walk := func(s *dsl.Step) {
		if s.Review != nil {
			steps[s.Label()] = s
		}
	}
	dsl.WalkSteps(r.in.Process.Steps, walk)
	for _, h := range r.in.Process.Handlers {
		dsl.WalkSteps(h.Steps, walk)
	}
	for _, p := range r.pendingReviews("") {
		s := steps[p.Step]
		if s == nil {
			continue // a step of an older version of the process
		}
		p.Sequence++
		r.record(ctx, incidentflow.Change{}, r.event(ctx, "review_cancelled", p.Step, "",
			fmt.Sprintf("%s cancelled: the incident is %s", p.Title, r.state.Status), map[string]any{"uid": p.UID, "sequence": p.Sequence}))
		inv := &incidentflow.Invitation{UID: p.UID, Sequence: p.Sequence, Start: p.Start, End: p.End, Summary: p.Title,
			Stamp: workflow.Now(ctx), TimeZone: r.in.Calendar.Location().String(), Cancelled: true}
		msg := fmt.Sprintf("%s, planned for %s, is cancelled: the incident is %s.", p.Title, r.localTime(p.Start), r.state.Status)
		r.deliverWith(ctx, s, p.Step, fmt.Sprintf("incident-%s/review-cancelled/%s/v%d", r.state.Ref, p.UID, p.Sequence), "review",
			s.Review.Attendees, msg, s.Review.Via, inv)
	}
}

// pendingReviews are the reviews not yet held that in names.
func (r *run) pendingReviews(step string) []*Review {
	var out []*Review
	for _, p := range r.state.Reviews {
		if !p.Held && (step == "" || p.Step == step) {
			out = append(out, p)
		}
	}
	return out
}

func (r *run) validateReview(in any, by, step string) error {
	if err := r.validateOpen(in); err != nil {
		return err
	}
	if strings.TrimSpace(by) == "" {
		return refused("say who: \"by\" is required")
	}
	switch pending := r.pendingReviews(step); {
	case len(pending) == 0 && step != "":
		return refused("no review named %q waits on incident %s", step, r.state.Ref)
	case len(pending) == 0:
		return refused("no review is scheduled on incident %s", r.state.Ref)
	case len(pending) > 1:
		names := make([]string, len(pending))
		for i, p := range pending {
			names[i] = p.Step
		}
		return refused("%d reviews wait (%s): say which with \"step\"", len(pending), strings.Join(names, ", "))
	}
	return nil
}

func (r *run) validateReviewHeld(in ReviewHeldInput) error {
	if err := r.validateReview(in, in.By, in.Step); err != nil {
		return err
	}
	if in.WriteUp != "" {
		if !incidentflow.IsWebURL(in.WriteUp) {
			return refused("write_up must be a link to the write-up (an http or https URL), not %q", in.WriteUp)
		}
	}
	return nil
}

func (r *run) reviewHeld(ctx workflow.Context, in ReviewHeldInput) (State, error) {
	p := r.pendingReviews(in.Step)[0]
	now := workflow.Now(ctx)
	p.Held, p.HeldAt, p.By, p.WriteUp = true, &now, in.By, in.WriteUp
	msg := fmt.Sprintf("%s held, marked by %s", p.Step, in.By)
	if in.WriteUp != "" {
		msg += "; write-up: " + in.WriteUp
	}
	if in.Note != "" {
		msg += " (" + in.Note + ")"
	}
	r.flush(ctx, r.record(ctx, incidentflow.Change{}, r.event(ctx, "review_held", "", in.By, msg, map[string]any{"write_up": in.WriteUp})))
	return r.state, nil
}

func (r *run) validateRescheduleReview(in RescheduleReviewInput) error {
	if err := r.validateReview(in, in.By, in.Step); err != nil {
		return err
	}
	p := r.pendingReviews(in.Step)[0]
	switch {
	case in.Start.IsZero():
		return refused("say when: \"start\" is required (RFC 3339)")
	case in.Start.After(workflow.Now(r.root).Add(MaxReschedule)):
		return refused("%s cannot move to %s: a review is held within a year", p.Step, in.Start.UTC().Format(time.RFC3339))
	case in.Start.Equal(p.Start):
		return refused("%s is already at %s", p.Step, r.localTime(p.Start))
	}
	return nil
}

func (r *run) rescheduleReview(ctx workflow.Context, in RescheduleReviewInput) (State, error) {
	p := r.pendingReviews(in.Step)[0]
	if !in.Start.After(workflow.Now(ctx)) {
		return r.state, refused("%s cannot move to %s: that is in the past", p.Step, in.Start.UTC().Format(time.RFC3339))
	}
	length := p.End.Sub(p.Start)
	p.Start, p.End = in.Start.UTC(), in.Start.UTC().Add(length)
	p.Sequence++
	r.flush(ctx, r.record(ctx, incidentflow.Change{}, r.event(ctx, "note", "", in.By,
		fmt.Sprintf("%s moved to %s by %s", p.Step, r.localTime(p.Start), in.By), nil)))
	return r.state, nil
}
