package channels

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// PagerDuty sends Events API v2 events: a trigger per delivery, whose
// dedup_key is the delivery's idempotency key, so PagerDuty itself drops a
// duplicate, and the acknowledge and resolve events that follow it up.
type PagerDuty struct {
	url        string
	routingKey string
	client     *http.Client
}

// NewPagerDuty returns a sender to the Events API v2 at url with routingKey.
func NewPagerDuty(url, routingKey string) *PagerDuty {
	return &PagerDuty{url: url, routingKey: routingKey, client: &http.Client{Timeout: 10 * time.Second}}
}

// PagerDutySeverity maps a process severity's level (1 is the most severe) to
// PagerDuty's four.
func PagerDutySeverity(level int) string {
	switch level {
	case 1:
		return "critical"
	case 2, 0: // 0: not known
		return "error"
	case 3:
		return "warning"
	}
	return "info"
}

// Send triggers an alert. PagerDuty answers 202; 400 (an invalid event) is
// permanent, 429 and 5xx are transient.
func (p *PagerDuty) Send(ctx context.Context, m Message) error {
	inc := m.Incident
	details := map[string]any{"ref": inc.Ref, "type": inc.Type, "status": inc.Status, "event": m.Event, "message": m.Message}
	if m.Level > 0 {
		details["level"] = m.Level
	}
	if m.Recipient != nil {
		details["recipient"] = m.Recipient.ID
	}
	event := map[string]any{
		"routing_key":  p.routingKey,
		"event_action": "trigger",
		"dedup_key":    clip(m.IdempotencyKey, 255),
		"client":       "incidentflow",
		"payload": map[string]any{
			"summary":        clip(inc.Ref+" "+inc.Title+": "+m.Message, 1024),
			"source":         "incidentflow",
			"severity":       PagerDutySeverity(inc.SeverityLevel),
			"component":      inc.Ref,
			"class":          inc.Type,
			"custom_details": details,
		},
	}
	if inc.URL != "" {
		event["client_url"] = inc.URL
		event["links"] = []any{map[string]any{"href": inc.URL, "text": inc.Ref + " in incidentflow"}}
	}
	return p.post(ctx, event)
}

// Follow sends the acknowledge or resolve event for the alert an earlier
// trigger opened.
func (p *PagerDuty) Follow(ctx context.Context, f FollowUp) error {
	return p.post(ctx, map[string]any{"routing_key": p.routingKey, "event_action": f.Event, "dedup_key": clip(f.DedupKey, 255)})
}

func (p *PagerDuty) post(ctx context.Context, event map[string]any) error {
	body, err := json.Marshal(event)
	if err != nil {
		return permanent("encode pagerduty event: %v", err)
	}
	return postJSON(ctx, p.client, "pagerduty", p.url, body, nil)
}
