package simulation_test

import (
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/processes"
	"github.com/incidentflow/incidentflow/simulation"
)

func run(t *testing.T, process, severity string, fields map[string]any, events ...simulation.Event) []string {
	t.Helper()
	return runWith(t, process, severity, fields, simulation.Responders{HoldReviews: true}, events...)
}

// wednesday is the Wednesday before Christmas, London, 16:00.
var wednesday = time.Date(2026, 12, 23, 16, 0, 0, 0, time.UTC)

func runWith(t *testing.T, process, severity string, fields map[string]any, resp simulation.Responders, events ...simulation.Event) []string {
	t.Helper()
	return runAt(t, wednesday, process, severity, fields, resp, events...)
}

// runAt simulates process declared at declared, events at their offsets from it.
func runAt(t *testing.T, declared time.Time, process, severity string, fields map[string]any, resp simulation.Responders, events ...simulation.Event) []string {
	t.Helper()
	cat, err := dsl.Load(processes.FS, "processes")
	require.NoError(t, err)
	for i := range events {
		events[i].At = declared.Add(events[i].At.Sub(time.Time{}))
	}
	lines, err := simulation.Run(simulation.Options{Process: cat.Processes[process], Hash: cat.Sources[process].Hash,
		Directory: cat.Directory, Severity: severity, Fields: fields, DeclaredAt: declared, Events: events, Until: declared.Add(40 * 24 * time.Hour), Responders: resp})
	require.NoError(t, err)
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = l.At.In(cat.Directory.Calendar.Location()).Format("Mon 02 Jan 15:04") + " " + l.Kind + " " + l.Text
	}
	return out
}

func after(d time.Duration) time.Time { return time.Time{}.Add(d) }

func contains(t *testing.T, lines []string, want string) {
	t.Helper()
	for _, l := range lines {
		if strings.HasPrefix(l, want) {
			return
		}
	}
	t.Errorf("no line starts %q in:\n%s", want, strings.Join(lines, "\n"))
}

// A GDPR clock started the Wednesday before Christmas: 72 hours from awareness,
// holidays or not; reminders 48, 24 and 4 hours before; missed, it escalates.
func TestPrivacyGDPRClock(t *testing.T) {
	lines := run(t, "privacy", "medium", map[string]any{"aware_at": "2026-12-23T14:00:00Z"})
	contains(t, lines, "Wed 23 Dec 16:00 deadline_started Notify the supervisory authority (GDPR Art. 33): clock started (72h from the time in field aware_at), due Sat 26 Dec 2026 14:00 GMT")
	contains(t, lines, "Thu 24 Dec 14:00 notify → #legal-email: Reminder: Notify the supervisory authority (GDPR Art. 33)")
	contains(t, lines, "Fri 25 Dec 14:00 notify → #legal-email: Reminder")
	contains(t, lines, "Sat 26 Dec 10:00 notify → #legal-email: Reminder")
	contains(t, lines, "Sat 26 Dec 14:00 deadline_missed Notify the supervisory authority (GDPR Art. 33) was due Sat 26 Dec 2026 14:00 GMT")
	contains(t, lines, "Sat 26 Dec 14:00 notify → #exec-updates: GDPR Art. 33 deadline missed for SIM-1")
}

// The SEC clock counts four US federal business days after the materiality
// determination (Christmas Day is one holiday; the 28th, a holiday in
// London, is not one in New York), due when EDGAR closes at 17:30 Eastern.
// The NIS2 final report is due one month after the notification, at the end
// of that day.
func TestSecurityClocksAcrossHolidays(t *testing.T) {
	lines := run(t, "security", "critical", map[string]any{"nis2_in_scope": true},
		simulation.Event{At: after(time.Minute), Signal: "acknowledge"},
		simulation.Event{At: after(30 * time.Minute), Signal: "materiality_determined"},
		simulation.Event{At: after(20 * time.Hour), Signal: "early_warning_submitted"},
		simulation.Event{At: after(70 * time.Hour), Signal: "notification_submitted"})
	contains(t, lines, "Wed 23 Dec 16:30 deadline_started File SEC Form 8-K Item 1.05: clock started (4 business days from signal materiality_determined, counted as FRCP 6(a) and the SEC count), due Wed 30 Dec 2026 22:30 GMT")
	contains(t, lines, "Wed 23 Dec 16:00 deadline_started NIS2 early warning to the CSIRT: clock started (24h from declared), due Thu 24 Dec 2026 16:00 GMT")
	contains(t, lines, "Thu 24 Dec 12:00 deadline_met NIS2 early warning to the CSIRT met")
	contains(t, lines, "Sat 26 Dec 14:00 deadline_started NIS2 final report: clock started (1 month from signal notification_submitted, counted as Regulation 1182/71 counts), due Tue 26 Jan 2027 24:00 GMT")
	contains(t, lines, "Wed 30 Dec 22:30 deadline_missed File SEC Form 8-K Item 1.05 was due Wed 30 Dec 2026 22:30 GMT")
}

// A critical engineering incident: status-page reminders every 30 minutes
// while critical, and a review five business days at most after it is
// resolved, in working hours, skipping Christmas and the weekend.
func TestEngineeringReviewAfterChristmas(t *testing.T) {
	lines := run(t, "engineering", "critical", nil,
		simulation.Event{At: after(2 * time.Minute), Signal: "acknowledge"},
		simulation.Event{At: after(3 * time.Minute), Signal: "assign:lead=alice"},
		simulation.Event{At: after(2 * time.Hour), Signal: "resolve"})
	contains(t, lines, "Wed 23 Dec 16:30 notify → #eng-incidents: SIM-1 is critical: update the status page")
	contains(t, lines, "Wed 23 Dec 17:30 notify → #eng-incidents: SIM-1 is critical: update the status page")
	contains(t, lines, "Wed 23 Dec 18:00 task_created Follow-up SIM-1-T1 created: Write the post-incident review of SIM-1")
	// A business day after the resolution is Thursday 18:00, after working
	// hours; the 25th and 28th are holidays, so the first slot is Tuesday 09:00.
	contains(t, lines, "Wed 23 Dec 18:00 review_scheduled Hold the post-incident review scheduled for Tue 29 Dec 2026 09:00 GMT")
	contains(t, lines, "Mon 28 Dec 09:00 reminder → Alice Ng: Reminder: Post-incident review: SIM-1 Simulated engineering incident is at Tue 29 Dec 2026 09:00 GMT, in 1d.")
	contains(t, lines, "Tue 29 Dec 08:00 reminder → Bob Okafor: Reminder")
	contains(t, lines, "Tue 29 Dec 10:00 review_held Hold the post-incident review held")
	for _, l := range lines {
		require.False(t, strings.HasPrefix(l, "Wed 23 Dec 18:30"), "no status-page reminder after resolution: %s", l)
	}
}

// An operational mistake that reached customers: an owner, the correction
// as a task, the support lead's approval of the message, then a review.
func TestOperationalCustomerMistake(t *testing.T) {
	lines := runWith(t, "operational", "major", map[string]any{"customers_affected": int64(42)},
		simulation.Responders{ApproveAfter: time.Hour, TasksDoneAfter: 4 * time.Hour, HoldReviews: true},
		simulation.Event{At: after(20 * time.Minute), Signal: "assign:owner=frank"},
		simulation.Event{At: after(2 * 24 * time.Hour), Signal: "resolve"})
	contains(t, lines, "Wed 23 Dec 16:20 task_created Follow-up SIM-1-T1 created: Correct Simulated operational incident (SIM-1), owned by frank")
	contains(t, lines, "Wed 23 Dec 20:20 task_done Follow-up SIM-1-T1 done by frank")
	contains(t, lines, "Wed 23 Dec 21:20 approved Approve the message to customers approved by erin, the support_lead")
	// Resolved on Christmas Day: a business day later is Tuesday 16:00 (the 28th is a holiday).
	contains(t, lines, "Fri 25 Dec 16:00 review_scheduled Review what affected customers scheduled for Tue 29 Dec 2026 16:00 GMT")
	contains(t, lines, "Tue 29 Dec 17:00 review_held Review what affected customers held")
	contains(t, lines, "Tue 29 Dec 17:00 status_changed Status resolved → closed")
}

// Without customers affected there is nothing to approve and no review.
func TestOperationalNoCustomers(t *testing.T) {
	lines := runWith(t, "operational", "minor", nil, simulation.Responders{TasksDoneAfter: time.Hour, HoldReviews: true},
		simulation.Event{At: after(time.Minute), Signal: "assign:owner=erin"},
		simulation.Event{At: after(3 * time.Hour), Signal: "resolve"})
	contains(t, lines, "Wed 23 Dec 19:00 status_changed Status resolved → closed")
	for _, l := range lines {
		require.NotContains(t, l, " review")
		require.NotContains(t, l, " approved by ")
	}
	contains(t, lines, "Wed 23 Dec 17:01 step_skipped Skipped Approve the message to customers: fields.customers_affected > 0 is false")
}

// An AI system's serious incident with a widespread infringement: the AI
// Act's two days (Art. 73(3)) counted as Regulation 1182/71 counts, from
// the Wednesday before Christmas: the last day, Friday the 25th, is a
// holiday, and so is Monday the 28th, so the period ends with Tuesday.
func TestOperationalAIActReport(t *testing.T) {
	lines := runWith(t, "operational", "major", map[string]any{"ai_act_serious_incident": "widespread_or_critical_infrastructure"},
		simulation.Responders{TasksDoneAfter: time.Hour, HoldReviews: true},
		simulation.Event{At: after(time.Minute), Signal: "assign:owner=erin"},
		simulation.Event{At: after(3 * 24 * time.Hour), Signal: "ai_act_report_submitted"},
		simulation.Event{At: after(4 * 24 * time.Hour), Signal: "resolve"})
	contains(t, lines, "Wed 23 Dec 16:00 deadline_started Report the serious incident to the market surveillance authority (AI Act Art. 73(3)): clock started (2 days from declared, counted as Regulation 1182/71 counts), due Tue 29 Dec 2026 24:00 GMT")
	contains(t, lines, "Sat 26 Dec 16:00 deadline_met Report the serious incident to the market surveillance authority (AI Act Art. 73(3)) met")
	contains(t, lines, "Sun 27 Dec 16:00 status_changed Status resolved → closed")
}

// Responders act at exactly their offsets, whatever the minute: declared at
// 16:07, the task assigned at 16:20 is done 1h23 later, and the approval it
// lets begin is given 7 minutes after that.
func TestRespondersActAtTheirOffsets(t *testing.T) {
	lines := runAt(t, wednesday.Add(7*time.Minute), "operational", "major", map[string]any{"customers_affected": int64(42)},
		simulation.Responders{ApproveAfter: 7 * time.Minute, TasksDoneAfter: time.Hour + 23*time.Minute, HoldReviews: true},
		simulation.Event{At: after(13 * time.Minute), Signal: "assign:owner=frank"},
		simulation.Event{At: after(2 * 24 * time.Hour), Signal: "resolve"})
	contains(t, lines, "Wed 23 Dec 16:20 task_created Follow-up SIM-1-T1 created")
	contains(t, lines, "Wed 23 Dec 17:43 task_done Follow-up SIM-1-T1 done by frank")
	contains(t, lines, "Wed 23 Dec 17:50 approved Approve the message to customers approved by erin, the support_lead")
}

// A review whose meeting ends at 10:00 is held at 10:00, though the incident
// was declared at 16:07.
func TestReviewHeldWhenItsMeetingEnds(t *testing.T) {
	lines := runAt(t, wednesday.Add(7*time.Minute), "engineering", "critical", nil, simulation.Responders{HoldReviews: true},
		simulation.Event{At: after(2 * time.Minute), Signal: "acknowledge"},
		simulation.Event{At: after(3 * time.Minute), Signal: "assign:lead=alice"},
		simulation.Event{At: after(2 * time.Hour), Signal: "resolve"})
	contains(t, lines, "Wed 23 Dec 18:07 review_scheduled Hold the post-incident review scheduled for Tue 29 Dec 2026 09:00 GMT")
	contains(t, lines, "Tue 29 Dec 10:00 review_held Hold the post-incident review held")
}

// A busy machine is not a stuck run: eight simulations of the README's
// privacy example side by side, with goroutines burning every core beside
// them, all give the same timeline, the declaration first. (With the SDK's
// one-second bound on a workflow task, most of them failed here as a
// "potential deadlock".)
func TestSimulationsUnderLoad(t *testing.T) {
	stop := make(chan struct{})
	var burners sync.WaitGroup
	for range 32 * runtime.NumCPU() {
		burners.Go(func() {
			for x := 0; ; x++ {
				select {
				case <-stop:
					return
				default:
					if x%1_000_000 == 0 {
						runtime.GC()
					}
				}
			}
		})
	}
	defer burners.Wait()
	defer close(stop)
	cat, err := dsl.Load(processes.FS, "processes")
	require.NoError(t, err)
	o := simulation.Options{Process: cat.Processes["privacy"], Hash: cat.Sources["privacy"].Hash, Directory: cat.Directory,
		Severity: "high", Fields: map[string]any{"aware_at": "2026-12-23T16:00:00Z"}, DeclaredAt: wednesday,
		Events: []simulation.Event{{At: wednesday.Add(30 * time.Hour), Signal: "regulator_notified"}, {At: wednesday.Add(3 * 24 * time.Hour), Signal: "resolve"}},
		Until:  wednesday.Add(60 * 24 * time.Hour), Responders: simulation.Responders{HoldReviews: true}}
	timelines := make([][]simulation.Line, 8)
	errs := make([]error, 8)
	var runs sync.WaitGroup
	for i := range timelines {
		runs.Go(func() { timelines[i], errs[i] = simulation.Run(o) })
	}
	runs.Wait()
	for i, lines := range timelines {
		require.NoError(t, errs[i], "run %d", i)
		require.Equal(t, "declared", lines[0].Kind, "run %d", i)
		// Messages sent at one instant go out side by side, in no set order.
		require.ElementsMatch(t, timelines[0], lines, "run %d gives the same timeline", i)
	}
}

// Messages write times as the timeline does, in the calendar's zone: a
// time field, and the due time of a background clock the steps after it
// mention at once, and of one whose signal has not come yet; a clock not
// met yet is not met.
func TestMessagesWriteDatesInTheCalendarZone(t *testing.T) {
	fsys := fstest.MapFS{
		"directory.yaml": {Data: []byte("channels:\n  - {id: legal, type: console}\ncalendar:\n  timezone: America/New_York\n")},
		"p.yaml": {Data: []byte(`process: p
title: Dates
severities: [high]
fields:
  aware_at: {type: time}
signals: [filed, materiality_determined]
steps:
  - id: gdpr
    background: true
    deadline: {title: Tell the regulator, within: 72h, from: "field:aware_at", done_when: "signal:filed"}
  - id: sec
    background: true
    deadline: {title: File 8-K, within: 4 business days, from: "signal:materiality_determined", done_when: "signal:filed"}
  - notify:
      to: [channel:legal]
      message: "Aware {{ when .Fields.aware_at }}; tell the regulator by {{ when .Steps.gdpr.Output.due }}; 8-K by {{ when .Steps.sec.Output.due }}"
  - wait: {signal: materiality_determined}
  - notify:
      to: [channel:legal]
      message: "8-K by {{ .Steps.sec.Output.due | when }}; regulator told: {{ if .Steps.gdpr.Output.met }}yes{{ else }}not yet{{ end }}"
`)}}
	cat, err := dsl.Load(fsys, "t")
	require.NoError(t, err)
	lines, err := simulation.Run(simulation.Options{Process: cat.Processes["p"], Hash: cat.Sources["p"].Hash, Directory: cat.Directory,
		Severity: "high", Fields: map[string]any{"aware_at": "2026-12-23T14:00:00Z"}, DeclaredAt: wednesday,
		Events: []simulation.Event{{At: wednesday.Add(time.Hour), Signal: "materiality_determined"}}, Until: wednesday.Add(10 * 24 * time.Hour)})
	require.NoError(t, err)
	var sent []string
	for _, l := range lines {
		if l.Kind == "notify" {
			sent = append(sent, l.Text)
		}
	}
	require.Equal(t, []string{
		"→ #legal: Aware Wed 23 Dec 2026 09:00 EST; tell the regulator by Sat 26 Dec 2026 09:00 EST; 8-K by (not known yet)",
		"→ #legal: 8-K by Tue 29 Dec 2026 12:00 EST; regulator told: not yet", // four business days: this calendar has no holidays
	}, sent)
}
