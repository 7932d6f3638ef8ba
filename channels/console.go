package channels

import (
	"context"
	"fmt"
	"strings"
)

// console prints one readable line per delivery, for `incidentflow dev`.
type console struct {
	id  string
	out Printer
}

func (c console) Send(_ context.Context, m Message) error {
	to := "#" + c.id
	if m.Recipient != nil {
		to = m.Recipient.Name + " (" + m.Recipient.ID + ") via #" + c.id
	}
	what := m.Event
	if m.Level > 0 {
		what = fmt.Sprintf("%s level %d", m.Event, m.Level)
	}
	// One line a delivery: a message's lines are joined.
	msg := strings.Join(strings.FieldsFunc(m.Message, func(r rune) bool { return r == '\n' || r == '\r' }), " ")
	// A message of no incident (a sign-in link) has no ref or severity to show.
	head := strings.ToUpper(what[:1]) + what[1:]
	if m.Incident.Ref != "" {
		head = fmt.Sprintf("[%s] %s %s", m.Incident.Ref, head, m.Incident.Severity)
	}
	line := fmt.Sprintf("%s → %s: %s", head, to, msg)
	if inv := m.Invitation; inv != nil {
		line += fmt.Sprintf(" [%s, %s]", inv.Summary, When(inv))
	}
	c.out.Println(line)
	return nil
}
