// Package channels delivers messages to people and places: the console for dev
// and a generic signed webhook, behind one small interface. It must never import
// Temporal, store, api or workflows; activities call it.
package channels

import (
	"context"
	"crypto/tls"
	"fmt"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/dsl"
)

// Sender delivers one message. A permanent failure (one that retrying cannot
// fix) is an *incidentflow.Error with code EPERMANENT; any other error is
// transient and the caller retries.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Message is one delivery: the webhook contract of DESIGN §5 is its JSON form.
type Message struct {
	Event          string     `json:"event"` // notify, page, review (an invitation) or reminder
	Incident       Incident   `json:"incident"`
	Recipient      *Recipient `json:"recipient,omitempty"`
	Level          int        `json:"level,omitempty"` // on pages, counting from 1
	Message        string     `json:"message"`
	IdempotencyKey string     `json:"idempotency_key"`
	Step           string     `json:"step,omitempty"`
	// Channel is the id of the channel in the directory, for readable output.
	Channel string `json:"channel"`
	// Invitation is the meeting a review event invites to.
	Invitation *Invitation `json:"invitation,omitempty"`
	// Actions are the action links the message holds for its recipient,
	// for channels that show them as buttons (e-mail) or hand them on
	// (the webhook); the message's text holds them too.
	Actions []Action `json:"actions,omitempty"`
}

// Action is one action link of a message: what it does, and where.
type Action struct {
	Name  string `json:"name"`  // acknowledge, approve, complete or review
	Label string `json:"label"` // what a button says
	URL   string `json:"url"`
}

// FollowUp is a change in an incident that a channel tracking its own alerts
// (PagerDuty) hears about: DedupKey is the idempotency key of the delivery
// that raised the alert.
type FollowUp struct {
	Event    string // acknowledge or resolve
	DedupKey string
	Incident Incident
}

// Follower is a sender whose deliveries open something that later changes
// must close: acknowledging or resolving the incident follows them up.
type Follower interface {
	Sender
	Follow(ctx context.Context, f FollowUp) error
}

// Incident, Recipient and Invitation are what a delivery says of its
// incident, its person and its meeting; the interpreter builds them, so
// they live in the root package (the interpreter never imports channels).
type (
	Incident   = incidentflow.IncidentBrief
	Recipient  = incidentflow.Recipient
	Invitation = incidentflow.Invitation
)

// Config is what building senders needs from outside: where console lines go
// and how to read the environment variables the directory names.
type Config struct {
	Console Printer
	Getenv  func(string) string
	// SMTPTLS overrides the TLS settings e-mail uses for STARTTLS (tests
	// trust their own certificate authority with it).
	SMTPTLS *tls.Config
}

// Printer receives one console line per delivery.
type Printer interface {
	Println(line string)
}

// Build makes a sender for every channel in the directory. Channels whose
// secrets are missing from the environment are left out and reported, so the
// worker can say so at start-up; delivering to them then fails permanently.
func Build(dir *dsl.Directory, cfg Config) (map[string]Sender, []error) {
	out := map[string]Sender{}
	var problems []error
	// env reads a variable the directory names, reporting it when unset.
	env := func(c dsl.Channel, name, what string) (string, bool) {
		if name == "" {
			return "", true
		}
		v := cfg.Getenv(name)
		if v == "" {
			problems = append(problems, fmt.Errorf("channel %s: environment variable %s (%s) is not set", c.ID, name, what))
		}
		return v, v != ""
	}
	for _, c := range dir.Channels {
		switch c.Type {
		case "console":
			out[c.ID] = console{id: c.ID, out: cfg.Console}
		case "webhook":
			url, ok1 := env(c, c.URLEnv, "its URL")
			secret, ok2 := env(c, c.SecretEnv, "its signing secret")
			if !ok1 || !ok2 {
				continue
			}
			if c.URL != "" {
				url = c.URL
			}
			out[c.ID] = NewWebhook(url, secret)
		case "slack":
			if url, ok := env(c, c.WebhookURLEnv, "its incoming-webhook URL"); ok {
				out[c.ID] = NewSlack(url)
			}
		case "pagerduty":
			if key, ok := env(c, c.RoutingKeyEnv, "its routing key"); ok {
				url := c.EventsURL
				if url == "" {
					url = dsl.PagerDutyEventsURL
				}
				out[c.ID] = NewPagerDuty(url, key)
			}
		case "email":
			if dir.SMTP == nil {
				problems = append(problems, fmt.Errorf("channel %s: the directory has no smtp settings", c.ID))
				continue
			}
			smtpCfg := dsl.Channel{ID: c.ID}
			password, ok := env(smtpCfg, dir.SMTP.PasswordEnv, "the SMTP password")
			if !ok {
				continue
			}
			e, err := NewEmail(SMTPConfig{Server: dir.SMTP.Server, From: dir.SMTP.From, Username: dir.SMTP.Username,
				Password: password, StartTLS: dir.SMTP.StartTLS, TLS: cfg.SMTPTLS}, c.To)
			if err != nil {
				problems = append(problems, fmt.Errorf("channel %s: %w", c.ID, err))
				continue
			}
			out[c.ID] = e
		default:
			problems = append(problems, fmt.Errorf("channel %s: type %s is not supported", c.ID, c.Type))
		}
	}
	return out, problems
}

// permanent marks a delivery failure that retrying cannot fix.
func permanent(format string, args ...any) error {
	return incidentflow.Errorf(incidentflow.EPERMANENT, format, args...)
}
