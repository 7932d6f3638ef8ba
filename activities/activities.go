// Package activities holds every side effect an incident's run causes: recording
// its state and timeline, and delivering messages through channels. Each activity
// is idempotent: a retried attempt finds what an earlier one did and does not
// repeat it. It must never import workflows or api.
package activities

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/channels"
	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/links"
	"github.com/incidentflow/incidentflow/oncall"
	"github.com/incidentflow/incidentflow/store"
)

// Store is what activities need of the database.
type Store interface {
	ApplyChange(ctx context.Context, c incidentflow.Change) error
	BeginDelivery(ctx context.Context, d store.Delivery) (store.Delivery, error)
	FinishDelivery(ctx context.Context, key, status, reason string) error
	Deliveries(ctx context.Context, ref, status string) ([]store.Delivery, error)
}

var _ Store = (*store.Store)(nil)

// Activities are the side effects of incident runs, with their dependencies.
type Activities struct {
	Store     Store
	Directory *dsl.Directory
	Channels  map[string]channels.Sender
	// Secrets looks up the worker's environment variables that http steps
	// name for their secret headers.
	Secrets func(name string) string
	// HTTP makes http steps' requests (nil: a client with a 30s timeout).
	HTTP *http.Client
	// Deliveries counts deliveries by channel and outcome (sent, failed,
	// retrying, skipped); nil counts nothing.
	Deliveries *prometheus.CounterVec
	// Durations observe the time to acknowledge and to resolve; nil observes nothing.
	Durations *Durations
	// Links signs the action links messages carry to each person they
	// reach; nil leaves the incident's own link in their place.
	Links *links.Signer
	Now   func() time.Time
}

// NewDeliveriesCounter makes the counter Activities.Deliveries expects and
// registers it.
func NewDeliveriesCounter(reg prometheus.Registerer) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "incidentflow_deliveries_total",
		Help: "Deliveries attempted, by channel and outcome: sent, failed (for good), retrying, skipped (sent before)."},
		[]string{"channel", "outcome"})
	reg.MustRegister(c)
	return c
}

// Durations are the histograms of how long incidents take to be
// acknowledged (MTTA) and resolved (MTTR), by type and severity.
type Durations struct {
	Acknowledge *prometheus.HistogramVec
	Resolve     *prometheus.HistogramVec
}

// NewDurations makes the MTTA and MTTR histograms and registers them.
func NewDurations(reg prometheus.Registerer) *Durations {
	// From a minute to a month: acknowledgements take minutes, resolutions
	// hours to weeks.
	buckets := []float64{60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600, 86400, 3 * 86400, 7 * 86400, 30 * 86400}
	d := &Durations{
		Acknowledge: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "incidentflow_time_to_acknowledge_seconds",
			Help: "From declaration to the first acknowledgement (MTTA), by type and severity at the time.", Buckets: buckets}, []string{"type", "severity"}),
		Resolve: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "incidentflow_time_to_resolve_seconds",
			Help: "From declaration to resolution (MTTR), by type and severity at the time.", Buckets: buckets}, []string{"type", "severity"}),
	}
	reg.MustRegister(d.Acknowledge, d.Resolve)
	return d
}

// observe records what a change says about acknowledgement and resolution.
func (d *Durations) observe(c incidentflow.Change) {
	if d == nil || c.DeclaredAt.IsZero() {
		return
	}
	severity := c.Severity
	if c.Type == incidentflow.RestrictedType { // as the workflow marks them: nothing of their kind shows
		severity = incidentflow.RestrictedType
	}
	if c.AcknowledgedAt != nil {
		d.Acknowledge.WithLabelValues(c.Type, severity).Observe(c.AcknowledgedAt.Sub(c.DeclaredAt).Seconds())
	}
	for _, e := range c.Events {
		if to, _ := e.Data["to"].(string); e.Kind == "status_changed" && to == "resolved" {
			d.Resolve.WithLabelValues(c.Type, severity).Observe(e.At.Sub(c.DeclaredAt).Seconds())
		}
	}
}

func (a *Activities) count(channel, outcome string) {
	if a.Deliveries != nil {
		a.Deliveries.WithLabelValues(channel, outcome).Inc()
	}
}

// RecordChange writes the incident's new state and timeline events. It is a
// local activity: cheap bookkeeping that should not lengthen the history.
func (a *Activities) RecordChange(ctx context.Context, c incidentflow.Change) error {
	if err := a.Store.ApplyChange(ctx, c); err != nil {
		// The store being away is waited out, however long; anything
		// else it refuses that often, it refuses for good, and holding the
		// change would hold back every change after it.
		if incidentflow.ErrorCode(err) != incidentflow.EUNAVAILABLE && activity.GetInfo(ctx).Attempt >= recordAttempts {
			return temporal.NewNonRetryableApplicationError(fmt.Sprintf("the store refused the change %d times: %v", recordAttempts, err),
				incidentflow.EPERMANENT, err)
		}
		return temporalError(err)
	}
	a.Durations.observe(c)
	return nil
}

// recipientName is how a result names the recipient of a delivery target:
// a person's id, a channel's.
func recipientName(target string) string {
	return strings.TrimPrefix(strings.TrimPrefix(target, "person:"), "channel:")
}

// recordAttempts is how often a change the store refuses, not being away,
// is tried before it is dropped.
const recordAttempts = 10

// NotifyInput is one notify step's delivery: its message to its targets.
type NotifyInput struct {
	Incident channels.Incident
	// Key identifies the step run (workflow, step, iteration); delivery keys extend it.
	Key     string
	Step    string
	Event   string
	Level   int
	Targets []dsl.Target
	// Roles are the incident's role holders when the step ran.
	Roles   map[string]string
	Message string
	// Via, when set, reaches people through this channel rather than their own.
	Via string `json:",omitempty"`
	// Invitation goes with a review's message; the activity fills in its
	// attendees from the people the targets resolve to.
	Invitation *channels.Invitation `json:",omitempty"`
	// Actions is where the action links of the message point (the app's
	// /act/); empty for runs started before there were any.
	Actions string `json:",omitempty"`
}

// NotifyResult counts what happened to each recipient.
type NotifyResult struct {
	// Recipients are who the targets resolved to: person ids and #channels.
	Recipients []string `json:"recipients,omitempty"`
	Sent       int      `json:"sent"`
	Skipped    int      `json:"skipped"` // already delivered by an earlier attempt
	// Failed are the recipients a delivery failed for good, by this
	// attempt or an earlier one, by name; Undelivered are the same as
	// Recipients name them.
	Failed      []string `json:"failed,omitempty"`
	Undelivered []string `json:"undelivered,omitempty"`
	Nobody      []string `json:"nobody,omitempty"` // targets that resolved to nobody
	// Tracked says a channel that follows up its deliveries (PagerDuty) took
	// one, so acknowledging and resolving the incident must tell it.
	Tracked bool `json:"tracked,omitempty"`
	// SentAt is when the first of its deliveries went out, by this attempt
	// or an earlier one: a page's acknowledgement window counts from it,
	// however late a crashed worker's retry reports it.
	SentAt *time.Time `json:"sent_at,omitempty"`
}

func (r *NotifyResult) sentAt(t time.Time) {
	if r.SentAt == nil || t.Before(*r.SentAt) {
		r.SentAt = &t
	}
}

// delivery is one recipient of a notification, resolved from the directory.
type delivery struct {
	target    string // the resolved address, part of the delivery key
	channel   string
	recipient *channels.Recipient
	label     string
}

// Notify resolves the targets against the directory as it is now and delivers
// the message to each recipient once. A delivery already sent by an earlier
// attempt is skipped; a permanent failure is recorded and does not stop the
// others; a transient failure fails the attempt so Temporal retries it.
func (a *Activities) Notify(ctx context.Context, in NotifyInput) (NotifyResult, error) {
	var res NotifyResult
	ds, nobody := a.resolve(in.Targets, in.Roles, a.now(ctx))
	res.Nobody = nobody
	var invitation *channels.Invitation
	if in.Invitation != nil {
		inv := *in.Invitation
		inv.Attendees = nil
		for _, d := range ds {
			if d.recipient != nil {
				inv.Attendees = append(inv.Attendees, *d.recipient)
			}
		}
		invitation = &inv
	}
	for i, d := range ds {
		res.Recipients = append(res.Recipients, recipientName(d.target))
		if in.Via != "" && d.recipient != nil {
			ds[i].channel = in.Via
		}
	}
	var transient error
	for i, d := range ds {
		// A worker that dies mid-delivery is noticed within the heartbeat
		// timeout, not the whole activity's, and the retry resumes here:
		// what was marked sent is skipped.
		activity.RecordHeartbeat(ctx, i)
		key := in.Key + "/" + d.target
		row, err := a.Store.BeginDelivery(ctx, store.Delivery{Key: key, Ref: in.Incident.Ref, Channel: d.channel, Recipient: d.target})
		if err != nil {
			return res, temporalError(err)
		}
		sender, ok := a.Channels[d.channel]
		if _, follows := sender.(channels.Follower); follows && row.Status != store.DeliveryFailed {
			res.Tracked = true
		}
		if row.Status == store.DeliveryFailed {
			// Failed for good by an earlier attempt: it stays failed, and
			// is reported as such (its timeline event was written then).
			res.Failed, res.Undelivered = append(res.Failed, d.label), append(res.Undelivered, recipientName(d.target))
			a.count(d.channel, "failed")
			continue
		}
		if row.Status != store.DeliveryPending {
			if row.SentAt != nil {
				res.sentAt(*row.SentAt)
			}
			res.Skipped++
			a.count(d.channel, "skipped")
			continue
		}
		var sendErr error
		if !ok {
			sendErr = incidentflow.Errorf(incidentflow.EPERMANENT, "channel %s is not configured on this worker", d.channel)
		} else {
			msg := channels.Message{Event: in.Event, Incident: in.Incident, Recipient: d.recipient, Level: in.Level,
				IdempotencyKey: key, Step: in.Step, Channel: d.channel, Invitation: invitation}
			msg.Message, msg.Actions = a.withLinks(ctx, in, d)
			sendErr = sender.Send(ctx, msg)
		}
		switch {
		case sendErr == nil:
			if err := a.Store.FinishDelivery(ctx, key, store.DeliverySent, ""); err != nil {
				return res, temporalError(err)
			}
			res.sentAt(a.now(ctx))
			res.Sent++
			a.count(d.channel, "sent")
			a.event(ctx, in.Incident.Ref, in.Step, key+"/sent", "delivered", fmt.Sprintf("Sent to %s", d.label))
		case incidentflow.ErrorCode(sendErr) == incidentflow.EPERMANENT:
			if err := a.Store.FinishDelivery(ctx, key, store.DeliveryFailed, sendErr.Error()); err != nil {
				return res, temporalError(err)
			}
			res.Failed, res.Undelivered = append(res.Failed, d.label), append(res.Undelivered, recipientName(d.target))
			a.count(d.channel, "failed")
			a.event(ctx, in.Incident.Ref, in.Step, key+"/failed", "delivery_failed", fmt.Sprintf("Could not deliver to %s: %s", d.label, incidentflow.ErrorMessage(sendErr)))
		default:
			a.count(d.channel, "retrying")
			activity.GetLogger(ctx).Warn("delivery failed; will retry", "incident", in.Incident.Ref, "process", in.Incident.Type, "step", in.Step, "channel", d.channel, "error", sendErr)
			attempt := activity.GetInfo(ctx).Attempt
			a.event(ctx, in.Incident.Ref, in.Step, fmt.Sprintf("%s/retry-%d", key, attempt), "delivery_retrying",
				fmt.Sprintf("Could not deliver to %s yet (attempt %d): %v; retrying", d.label, attempt, sendErr))
			transient = errors.Join(transient, fmt.Errorf("deliver to %s: %w", d.label, sendErr))
		}
	}
	if transient != nil {
		return res, transient
	}
	return res, nil
}

// withLinks is the message for one delivery, its link markers filled in: a
// person reached through a channel that reaches them alone gets action
// links of their own, signed, which act as them; a channel others read (a
// Slack channel, even when it is a person's way in) and every delivery
// when no links are signed gets the incident's link instead. A page to a
// person carries its acknowledgement link whether or not its message asks
// for it: a paged person acts from the page.
func (a *Activities) withLinks(ctx context.Context, in NotifyInput, d delivery) (string, []channels.Action) {
	msg := in.Message
	ch, _ := a.Directory.Channel(d.channel)
	person := d.recipient != nil && in.Actions != "" && a.Links != nil && ch.ReachesOnePerson()
	if in.Event == "page" && person && !dsl.HasLink(msg, dsl.LinkAcknowledge) {
		msg += "\n\nAcknowledge: " + dsl.LinkMarker(dsl.LinkAcknowledge, "")
	}
	now := a.now(ctx)
	var actions []channels.Action
	msg = dsl.FillLinks(msg, func(action, target string) string {
		if !person || links.Lifetime[action] == 0 {
			return in.Incident.URL
		}
		url := in.Actions + a.Links.Make(action, in.Incident.Ref, target, d.recipient.ID, now)
		actions = append(actions, channels.Action{Name: action, Label: actionLabel(action, target), URL: url})
		return url
	})
	return msg, actions
}

// actionLabel is what the button of an action link says.
func actionLabel(action, target string) string {
	switch action {
	case dsl.LinkAcknowledge:
		return "Acknowledge"
	case dsl.LinkApprove:
		return "Approve"
	case dsl.LinkComplete:
		return "Mark " + target + " done"
	case dsl.LinkReview:
		return "Mark the review held"
	}
	return action
}

// FollowUpInput asks the channels that track their deliveries to hear of a
// change: acknowledge or resolve.
type FollowUpInput struct {
	Incident channels.Incident
	Event    string
	Step     string
}

// FollowUp tells every channel that follows up its deliveries (PagerDuty)
// that the incident was acknowledged or resolved: one event for each of the
// incident's deliveries through it that went out, each sent once however
// often the activity is retried or called. A permanent failure is recorded
// on the timeline; a transient one fails the attempt to be retried.
func (a *Activities) FollowUp(ctx context.Context, in FollowUpInput) (int, error) {
	sent, err := a.Store.Deliveries(ctx, in.Incident.Ref, store.DeliverySent)
	if err != nil {
		return 0, temporalError(err)
	}
	n := 0
	var transient error
	for i, d := range sent {
		activity.RecordHeartbeat(ctx, i)
		follower, ok := a.Channels[d.Channel].(channels.Follower)
		if !ok || strings.Contains(d.Key, "#follow:") {
			continue
		}
		key := d.Key + "#follow:" + in.Event
		row, err := a.Store.BeginDelivery(ctx, store.Delivery{Key: key, Ref: d.Ref, Channel: d.Channel, Recipient: d.Recipient})
		if err != nil {
			return n, temporalError(err)
		}
		if row.Status != store.DeliveryPending {
			continue
		}
		switch err := follower.Follow(ctx, channels.FollowUp{Event: in.Event, DedupKey: d.Key, Incident: in.Incident}); {
		case err == nil:
			if err := a.Store.FinishDelivery(ctx, key, store.DeliverySent, ""); err != nil {
				return n, temporalError(err)
			}
			n++
			a.count(d.Channel, "sent")
		case incidentflow.ErrorCode(err) == incidentflow.EPERMANENT:
			if err := a.Store.FinishDelivery(ctx, key, store.DeliveryFailed, err.Error()); err != nil {
				return n, temporalError(err)
			}
			a.count(d.Channel, "failed")
			a.event(ctx, in.Incident.Ref, in.Step, key+"/failed", "delivery_failed",
				fmt.Sprintf("Could not %s the alert in #%s: %s", in.Event, d.Channel, incidentflow.ErrorMessage(err)))
		default:
			a.count(d.Channel, "retrying")
			transient = errors.Join(transient, fmt.Errorf("%s in %s: %w", in.Event, d.Channel, err))
		}
	}
	if n > 0 {
		a.event(ctx, in.Incident.Ref, in.Step, fmt.Sprintf("%s/%s/%d", in.Incident.Ref, in.Event, len(sent)), "followed_up",
			fmt.Sprintf("Told the alerting channels: %s (%d alert(s))", in.Event, n))
	}
	return n, transient
}

// event appends a timeline line for what an activity did. A failure to write
// it is logged, not fatal: what it reports (a delivery, a call) already happened.
func (a *Activities) event(ctx context.Context, ref, step, dedup, kind, msg string) {
	at := a.now(ctx)
	err := a.Store.ApplyChange(ctx, incidentflow.Change{Ref: ref, At: at, Events: []incidentflow.TimelineEvent{
		{At: at, Kind: kind, Step: step, Message: msg, DedupKey: dedup}}})
	if err != nil {
		activity.GetLogger(ctx).Warn("could not record on the timeline", "incident", ref, "step", step, "error", err)
	}
}

// now is the time to stamp on what this attempt records: the clock given, else
// the attempt's start as Temporal saw it. (The SDK's test environment starts
// attempts at the wall clock's time, not its simulated one: simulations and
// tests give the clock.)
func (a *Activities) now(ctx context.Context) time.Time {
	if a.Now != nil {
		return a.Now().UTC()
	}
	if t := activity.GetInfo(ctx).StartedTime; !t.IsZero() {
		return t.UTC()
	}
	return time.Now().UTC()
}

// resolve turns targets into deliveries, each person and channel once; a
// schedule resolves to whoever is on call at the instant given.
func (a *Activities) resolve(targets []dsl.Target, roles map[string]string, at time.Time) ([]delivery, []string) {
	var out []delivery
	var nobody []string
	seen := map[string]bool{}
	addPerson := func(id string) bool {
		p, ok := a.Directory.Person(id)
		if !ok {
			return false
		}
		if !seen["person:"+id] {
			seen["person:"+id] = true
			out = append(out, delivery{target: "person:" + id, channel: a.Directory.ChannelFor(p),
				recipient: &channels.Recipient{ID: p.ID, Name: p.Name, Email: p.Email}, label: p.Name})
		}
		return true
	}
	for _, t := range targets {
		switch t.Kind {
		case "channel":
			if !seen[t.String()] {
				seen[t.String()] = true
				out = append(out, delivery{target: t.String(), channel: t.ID, label: "#" + t.ID})
			}
		case "person":
			if !addPerson(t.ID) {
				nobody = append(nobody, t.String()+" (not in the directory)")
			}
		case "team":
			team, ok := a.Directory.Team(t.ID)
			if !ok {
				nobody = append(nobody, t.String()+" (not in the directory)")
				continue
			}
			for _, m := range team.Members {
				addPerson(m)
			}
		case "role":
			holder := roles[t.ID]
			if holder == "" || !addPerson(holder) {
				nobody = append(nobody, t.String()+" (nobody holds it)")
			}
		case "schedule":
			sch, ok := a.Directory.Schedule(t.ID)
			if !ok {
				nobody = append(nobody, t.String()+" (not in the directory)")
				continue
			}
			person, err := oncall.OnCall(sch, at)
			if err != nil || !addPerson(person) {
				nobody = append(nobody, t.String()+" (nobody on call)")
			}
		}
	}
	slices.Sort(nobody)
	return out, nobody
}

// LookupPolicy returns the escalation policy as the directory has it now. It
// is a local activity: the page step reads the policy when it starts, so an
// edited policy reaches open incidents, and replay sees the recorded answer.
func (a *Activities) LookupPolicy(_ context.Context, id string) (dsl.Policy, error) {
	p, ok := a.Directory.Policy(id)
	if !ok {
		return p, temporalError(incidentflow.Errorf(incidentflow.ENOTFOUND, "the directory has no escalation policy %q", id))
	}
	return p, nil
}

// temporalError makes domain errors that retrying cannot fix non-retryable.
func temporalError(err error) error {
	switch incidentflow.ErrorCode(err) {
	case "":
		return nil
	case incidentflow.EINVALID, incidentflow.ENOTFOUND, incidentflow.EPERMANENT:
		return temporal.NewNonRetryableApplicationError(incidentflow.ErrorMessage(err), incidentflow.ErrorCode(err), err)
	}
	return err
}
