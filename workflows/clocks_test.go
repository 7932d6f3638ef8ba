package workflows_test

// Deadlines and business days in the interpreter.

import (
	"regexp"
	"strings"
	"time"

	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/processes"
	"github.com/incidentflow/incidentflow/workflows"
)

const clocksProcess = `
process: p
title: P
severities: [high]
fields:
  aware_at: {type: time}
signals: [regulator_notified, materiality_determined]
steps:
  - id: gdpr
    background: true
    deadline:
      title: GDPR Art. 33
      within: 72h
      from: field:aware_at
      remind_before: [48h, 24h, 4h]
      notify: [channel:ops]
      done_when: signal:regulator_notified
      overdue:
        - notify: {to: [person:alice], message: "missed (due {{ .Steps.gdpr.Output.due }})"}
  - id: sec
    background: true
    deadline:
      title: SEC 8-K
      within: 4 business days
      from: signal:materiality_determined
  - wait: {for: status == "closed"}
`

// clock returns the state's clock with the given title.
func clock(st workflows.State, title string) workflows.Clock {
	for _, c := range st.Clocks {
		if c.Title == title {
			return c
		}
	}
	return workflows.Clock{}
}

func (s *IncidentSuite) TestDeadlineMetBetweenReminders() {
	// Aware ten hours before the incident was declared: due 62h after declaration.
	aware := s.env.Now().Add(-10 * time.Hour)
	s.update(40*time.Hour, workflows.UpdateSignal, workflows.SignalInput{Name: "regulator_notified", By: "dan"}, "")
	s.env.RegisterDelayedCallback(func() {
		c := clock(s.state(), "GDPR Art. 33")
		s.Equal(workflows.ClockMet, c.Status)
		s.Equal(aware.Add(72*time.Hour).UTC(), c.Due.UTC())
		s.Equal(true, s.state().Outputs["gdpr"]["met"])
	}, 41*time.Hour)
	s.update(100*time.Hour, workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "closed"}, "")
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input(clocksProcess, "high", map[string]any{"aware_at": aware.Format(time.RFC3339)}))
	s.NoError(s.env.GetWorkflowError())
	// The 48h reminder (14h after declaration) and the 24h one (38h) went out;
	// the 4h one (58h) did not, the regulator being told at 40h.
	s.Equal([]string{
		"ops: Reminder: GDPR Art. 33 for INC-7 Checkout is down is due Sat 28 Nov 2026 23:00 UTC, in 48h. http://api/v1/incidents/INC-7",
		"ops: Reminder: GDPR Art. 33 for INC-7 Checkout is down is due Sat 28 Nov 2026 23:00 UTC, in 24h. http://api/v1/incidents/INC-7",
	}, s.sent.lines())
	s.Contains(s.store.kinds(), "deadline_met")
}

func (s *IncidentSuite) TestDeadlineMissedThenMetLate() {
	aware := s.env.Now()
	s.update(80*time.Hour, workflows.UpdateSignal, workflows.SignalInput{Name: "regulator_notified"}, "")
	s.env.RegisterDelayedCallback(func() {
		s.Equal(workflows.ClockMetLate, clock(s.state(), "GDPR Art. 33").Status)
	}, 81*time.Hour)
	s.update(90*time.Hour, workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "closed"}, "")
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input(clocksProcess, "high", map[string]any{"aware_at": aware.Format(time.RFC3339)}))
	s.NoError(s.env.GetWorkflowError())
	s.Contains(s.sent.lines(), "alice: missed (due 2026-11-29T09:00:00Z)")
	s.Contains(s.store.kinds(), "deadline_missed")
	s.Contains(s.store.kinds(), "deadline_met_late")
}

func (s *IncidentSuite) TestBusinessDayClockAcrossWeekendAndHolidays() {
	// Materiality determined Wednesday 23 December 2026 at 16:00 in London.
	s.env.SetStartTime(time.Date(2026, 12, 23, 9, 0, 0, 0, time.UTC))
	in := s.input(clocksProcess, "high", nil)
	in.Incident.DeclaredAt = s.env.Now()
	in.Calendar = &dsl.Calendar{Timezone: "Europe/London", Holidays: []string{"2026-12-25", "2026-12-28"}}
	s.update(7*time.Hour, workflows.UpdateSignal, workflows.SignalInput{Name: "materiality_determined", By: "cfo"}, "")
	s.env.RegisterDelayedCallback(func() {
		c := clock(s.state(), "SEC 8-K")
		// Thursday 24 is one; Friday 25 and Monday 28 are holidays; Tuesday 29, Wednesday 30, Thursday 31.
		s.Equal(time.Date(2026, 12, 31, 16, 0, 0, 0, time.UTC), c.Due.UTC())
		s.Equal(workflows.ClockOpen, c.Status)
		s.Equal("waiting for the time in field aware_at to start the clock", s.activeWaiting("GDPR Art. 33"))
	}, 8*time.Hour)
	s.env.RegisterDelayedCallback(func() {
		s.Equal(workflows.ClockMissed, clock(s.state(), "SEC 8-K").Status)
	}, 8*24*time.Hour+8*time.Hour)
	s.update(9*24*time.Hour, workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "closed"}, "")
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, in)
	s.NoError(s.env.GetWorkflowError())
}

// activeWaiting says what the named active step waits for.
func (s *IncidentSuite) activeWaiting(step string) string {
	for _, a := range s.state().Active {
		if a.Step == step {
			return a.Waiting
		}
	}
	return ""
}

// The built-in privacy process runs its GDPR Art. 33 clock from the moment of
// awareness, with reminders 48, 24 and 4 hours before and an escalation when missed.
func (s *IncidentSuite) TestBuiltInPrivacyClock() {
	cat, err := dsl.Load(processes.FS, "processes")
	s.Require().NoError(err)
	p := cat.Processes["privacy"]
	// Aware on the Wednesday before Christmas at 16:00 London; declared the next morning.
	aware := time.Date(2026, 12, 23, 16, 0, 0, 0, time.UTC)
	s.env.SetStartTime(time.Date(2026, 12, 24, 9, 0, 0, 0, time.UTC))
	fields, errs := p.CheckFields(map[string]any{"aware_at": aware.Format(time.RFC3339)})
	s.Require().Empty(errs)
	in := workflows.Input{Incident: workflows.Declared{Ref: "INC-9", Type: "privacy", Title: "Export leaked", Severity: "medium",
		Status: p.InitialStatus, Fields: fields, DeclaredAt: s.env.Now()}, Process: *p, ProcessHash: cat.Sources["privacy"].Hash,
		Calendar: cat.Directory.Calendar, Features: workflows.Features}
	s.registerDirectory(cat.Directory)
	s.update(80*time.Hour, workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "closed"}, "")
	s.env.RegisterDelayedCallback(func() {
		c := clock(s.state(), "Notify the supervisory authority (GDPR Art. 33)")
		s.Equal(time.Date(2026, 12, 26, 16, 0, 0, 0, time.UTC), c.Due.UTC(), "72 hours from awareness, holidays or not")
		s.Equal(workflows.ClockMissed, c.Status)
	}, 79*time.Hour)
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, in)
	s.NoError(s.env.GetWorkflowError())
	var reminders []string
	remind := regexp.MustCompile(`^legal-email: Reminder: Notify the supervisory authority .* is due Sat 26 Dec 2026 16:00 GMT, in (\w+)\.`)
	for _, l := range s.sent.lines() {
		if m := remind.FindStringSubmatch(l); m != nil {
			reminders = append(reminders, m[1])
		}
	}
	s.Equal([]string{"48h", "24h", "4h"}, reminders)
	s.Contains(strings.Join(s.sent.lines(), "\n"), "exec-updates: GDPR Art. 33 deadline missed for INC-9")
}

// A clock counted from a time long past starts at once, and is recorded as
// missed at once: never silently not started.
func (s *IncidentSuite) TestClockFromLongAgoIsMissedAtOnce() {
	cat, err := dsl.Load(processes.FS, "processes")
	s.Require().NoError(err)
	p := cat.Processes["privacy"]
	fields, errs := p.CheckFields(map[string]any{"aware_at": "2024-03-01T09:00:00Z"})
	s.Require().Empty(errs)
	in := workflows.Input{Incident: workflows.Declared{Ref: "INC-9", Type: "privacy", Title: "Export leaked long ago", Severity: "medium",
		Status: p.InitialStatus, Fields: fields, DeclaredAt: s.env.Now()}, Process: *p, ProcessHash: cat.Sources["privacy"].Hash,
		Calendar: cat.Directory.Calendar, Features: workflows.Features}
	s.registerDirectory(cat.Directory)
	s.update(time.Hour, workflows.UpdateSetStatus, workflows.SetStatusInput{Status: "closed"}, "")
	s.env.RegisterDelayedCallback(func() {
		c := clock(s.state(), "Notify the supervisory authority (GDPR Art. 33)")
		s.Equal(time.Date(2024, 3, 4, 9, 0, 0, 0, time.UTC), c.Due.UTC(), "72 hours from awareness")
		s.Equal(workflows.ClockMissed, c.Status, "due long ago: missed at once")
	}, 10*time.Minute)
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, in)
	s.NoError(s.env.GetWorkflowError())
	s.Contains(strings.Join(s.sent.lines(), "\n"), "GDPR Art. 33 deadline missed for INC-9")
}
