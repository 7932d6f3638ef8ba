package incidentflow

import "time"

// What a delivery says: of its incident, of the person it is for, and of the
// meeting it invites to. The interpreter builds them and the channels send
// them (channels names them Incident, Recipient and Invitation).

// IncidentBrief is what a delivery says about its incident.
type IncidentBrief struct {
	Ref      string `json:"ref"`
	Type     string `json:"type"`
	Title    string `json:"title"`
	Severity string `json:"severity"`
	Status   string `json:"status"`
	URL      string `json:"url,omitempty"`
	// SeverityLevel is the severity's place in the process, 1 for the most
	// severe; channels with fixed severities (PagerDuty) map it to theirs.
	SeverityLevel int `json:"severity_level,omitempty"`
}

// Recipient is the person a delivery is for, when it is for a person.
type Recipient struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email,omitempty"`
}

// Invitation is a meeting (a post-incident review) as calendars see it. UID
// stays the same for every version of the meeting and Sequence grows with
// each reschedule, so calendars update the event rather than add another.
type Invitation struct {
	UID         string      `json:"uid"`
	Sequence    int         `json:"sequence"`
	Start       time.Time   `json:"start"`
	End         time.Time   `json:"end"`
	Summary     string      `json:"summary"`
	Description string      `json:"description,omitempty"`
	Attendees   []Recipient `json:"attendees,omitempty"`
	// Stamp is when this version of the invitation was made (DTSTAMP).
	Stamp time.Time `json:"stamp"`
	// TimeZone is the calendar's zone, for the readable text only: the
	// iCalendar times are UTC.
	TimeZone string `json:"time_zone,omitempty"`
	// Cancelled says the meeting is off (METHOD:CANCEL): the incident
	// closed before it was held.
	Cancelled bool `json:"cancelled,omitempty"`
}

// Method is the iCalendar method of the invitation: REQUEST, or CANCEL.
func (inv *Invitation) Method() string {
	if inv.Cancelled {
		return "CANCEL"
	}
	return "REQUEST"
}
