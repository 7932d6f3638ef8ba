// Package channels delivers messages to people and places: the console for dev
// and a generic signed webhook, behind one small interface. It must never import
// Temporal, store, api or workflows; activities call it.
package channels

import (
	"context"
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
	Event          string     `json:"event"` // notify or page
	Incident       Incident   `json:"incident"`
	Recipient      *Recipient `json:"recipient,omitempty"`
	Level          int        `json:"level,omitempty"` // on pages, counting from 1
	Message        string     `json:"message"`
	IdempotencyKey string     `json:"idempotency_key"`
	Step           string     `json:"step,omitempty"`
	// Channel is the id of the channel in the directory, for readable output.
	Channel string `json:"channel"`
}

// Incident is what a delivery says about its incident.
type Incident struct {
	Ref      string `json:"ref"`
	Type     string `json:"type"`
	Title    string `json:"title"`
	Severity string `json:"severity"`
	Status   string `json:"status"`
	URL      string `json:"url,omitempty"`
}

// Recipient is the person a delivery is for, when it is for a person.
type Recipient struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email,omitempty"`
}

// Config is what building senders needs from outside: where console lines go
// and how to read the environment variables the directory names.
type Config struct {
	Console Printer
	Getenv  func(string) string
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
	for _, c := range dir.Channels {
		switch c.Type {
		case "console":
			out[c.ID] = console{id: c.ID, out: cfg.Console}
		case "webhook":
			url := c.URL
			if c.URLEnv != "" {
				if url = cfg.Getenv(c.URLEnv); url == "" {
					problems = append(problems, fmt.Errorf("channel %s: environment variable %s (its URL) is not set", c.ID, c.URLEnv))
					continue
				}
			}
			var secret string
			if c.SecretEnv != "" {
				if secret = cfg.Getenv(c.SecretEnv); secret == "" {
					problems = append(problems, fmt.Errorf("channel %s: environment variable %s (its signing secret) is not set", c.ID, c.SecretEnv))
					continue
				}
			}
			out[c.ID] = NewWebhook(url, secret)
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
