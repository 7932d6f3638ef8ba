package dsl_test

import (
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/processes"
)

const testDirectory = `
people:
  - {id: alice, name: Alice, page_via: console}
  - {id: bob, name: Bob}
teams:
  - {id: sre, members: [alice, bob]}
channels:
  - {id: console, type: console}
  - {id: legal-email, type: console}
`

// load validates one process file beside testDirectory and returns its problems, one a line.
func load(t *testing.T, process string) string {
	t.Helper()
	_, err := dsl.Load(fstest.MapFS{
		"directory.yaml": {Data: []byte(testDirectory)},
		"p.yaml":         {Data: []byte(strings.TrimLeft(process, "\n"))},
	}, "procs")
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestBuiltInProcessesValidate(t *testing.T) {
	cat, err := dsl.Load(processes.FS, "processes")
	require.NoError(t, err)
	require.Equal(t, []string{"engineering", "operational", "privacy", "security"}, cat.Types())
	require.Empty(t, cat.Warnings)
	for _, typ := range cat.Types() {
		require.Len(t, cat.Sources[typ].Hash, 64)
	}
}

func TestValidProcess(t *testing.T) {
	require.Empty(t, load(t, `
process: sec
title: Security
severities: [critical, major, minor]
fields:
  personal_data: {type: bool, default: false}
  affected: {type: int}
roles: [lead, legal]
signals: [contained]
steps:
  - id: tell_legal
    if: severity_at_least("major") && (fields.personal_data || fields.affected > 100)
    notify: {to: [channel:legal-email, role:legal, team:sre, person:alice], message: "{{ .Incident.Title }} {{ .Fields.affected }}"}
  - id: contained
    wait: {signal: contained, timeout: 4h, on_timeout: [{notify: {to: [role:lead], message: late}}]}
  - if: steps.contained.output.timed_out
    sleep: {for: 2 business days}
  - set: {status: closed}
`))
}

func TestInvalidProcess(t *testing.T) {
	head := "process: p\ntitle: P\nseverities: [critical, minor]\nroles: [lead]\nsignals: [x]\nfields:\n  pd: {type: bool}\nsteps:\n"
	for _, tc := range []struct {
		name  string
		steps string
		want  string
	}{
		{"ErrUnknownKey", "  - notfy: {to: [channel:console], message: hi}\n",
			`procs/p.yaml:9:5: unknown key "notfy" in a step; did you mean "notify"?`},
		{"ErrTwoKinds", "  - notify: {to: [channel:console], message: hi}\n    sleep: {for: 1m}\n",
			`procs/p.yaml:10:5: a step does one thing, but this one is both notify and sleep; split it into two steps`},
		{"ErrUnknownChannel", "  - notify: {to: [channel:legal-emial], message: hi}\n",
			`procs/p.yaml:9:19: unknown channel "legal-emial"; did you mean "legal-email"?`},
		{"ErrUnreachablePerson", "  - notify: {to: [person:bob], message: hi}\n",
			`procs/p.yaml:9:19: person "bob" cannot be reached: they have no page_via channel and the directory sets no default_channel`},
		{"ErrUnknownRole", "  - notify: {to: [role:leed], message: hi}\n",
			`procs/p.yaml:9:19: unknown role "leed": the process declares roles lead; did you mean "lead"?`},
		{"ErrBadTarget", "  - notify: {to: [legal], message: hi}\n",
			`procs/p.yaml:9:19: target "legal" needs its kind before it, as kind:id: channel:legal, person:legal, team:legal, role:legal or schedule:legal`},
		{"ErrUndeclaredField", "  - if: fields.personal_data\n    sleep: {for: 1m}\n",
			`procs/p.yaml:9:9: condition uses field "personal_data", which the process does not declare; did you mean "fields.pd"?`},
		{"ErrConditionType", "  - if: severity\n    sleep: {for: 1m}\n",
			`procs/p.yaml:9:9: condition must come out true or false, but severity is text: compare it with a word in quotes, like severity == "..."`},
		{"ErrConditionSyntax", "  - if: 'severity =='\n    sleep: {for: 1m}\n",
			`procs/p.yaml:9:21: condition ends where more was expected: finish it, like severity == "critical"`},
		{"ErrUnknownSeverityInCondition", "  - if: severity_at_least(\"majr\")\n    sleep: {for: 1m}\n",
			`procs/p.yaml:9:28: unknown severity "majr" in condition; did you mean "minor"? (severities: critical, minor)`},
		{"ErrTemplateMissingKey", "  - notify: {to: [channel:console], message: \"{{ .Incident.Titel }}\"}\n",
			`procs/p.yaml:9:59: .Incident has no Titel; did you mean ".Incident.Title"? (it has Acknowledged, AcknowledgedBy, DeclaredAt, Ref, Severity, Status, Summary, Title, Type)`},
		{"ErrTemplateSyntax", "  - notify: {to: [channel:console], message: \"{{ .Incident.Title \"}\n",
			`procs/p.yaml:9:47: a placeholder opened with {{ is never closed: end it with }}`},
		{"ErrBadDuration", "  - sleep: {for: 72}\n",
			`procs/p.yaml:9:18: sleep.for: "72" has no unit: write 72h for hours, 72m for minutes or 72 days`},
		{"ErrDuplicateID", "  - {id: a, sleep: {for: 1m}}\n  - {id: a, sleep: {for: 1m}}\n",
			`procs/p.yaml:10:10: step id "a" is already used at line 9`},
		{"ErrWaitWithoutWhat", "  - wait: {timeout: 1h}\n",
			`procs/p.yaml:9:11: wait needs "for" (a condition), "signal" (a name), or both`},
		{"ErrOnTimeoutWithoutTimeout", "  - wait: {signal: x, on_timeout: [{sleep: {for: 1m}}]}\n",
			`procs/p.yaml:9:35: on_timeout never runs: this wait has no timeout`},
		{"ErrUnknownStatus", "  - set: {status: resolvd}\n",
			`procs/p.yaml:9:19: unknown status "resolvd"; did you mean "resolved"? (statuses: triage, investigating, fixing, monitoring, resolved, closed, declined)`},
		{"ErrSetFieldType", "  - set: {fields: {pd: maybe}}\n",
			`procs/p.yaml:9:24: field "pd" must be true or false, not the text "maybe"`},
		{"ErrUnreachable", "  - set: {status: closed}\n  - sleep: {for: 1m}\n",
			`procs/p.yaml:10:5: this step can never run: the step before it always sets the status to closed, which ends the incident`},
		{"ErrStepOutputOfUnknownStep", "  - if: steps.nope.output.timed_out\n    sleep: {for: 1m}\n",
			`procs/p.yaml:9:9: condition uses "steps.nope.output.timed_out", which no earlier step with an id provides`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, load(t, head+tc.steps))
		})
	}
}

func TestInvalidFile(t *testing.T) {
	for _, tc := range []struct {
		name, src, want string
	}{
		{"ErrYAMLSyntax", "process: p\ntitle: [\n", `procs/p.yaml:2:8: the [ that opens this value is never closed with ] (or an item in it is missing a comma)`},
		{"ErrEmpty", "", `procs/p.yaml:1:1: the file is empty`},
		{"ErrNotMapping", "- a\n", `procs/p.yaml:1:1: a process must be written as keys with values (key: value, one a line), not a list`},
		{"ErrMissingKeys", "process: p\n", "procs/p.yaml:1:1: a process needs \"severities\"\nprocs/p.yaml:1:1: a process needs \"steps\"\nprocs/p.yaml:1:1: a process needs \"title\""},
		{"ErrFieldType", "process: p\ntitle: P\nseverities: [a]\nfields:\n  x: {type: boolean}\nsteps: [{sleep: {for: 1m}}]\n",
			`procs/p.yaml:5:13: field "x" has unknown type "boolean"; did you mean "bool"? (types: string, text, bool, int, number, time, enum, list)`},
		{"ErrEnumDefault", "process: p\ntitle: P\nseverities: [a]\nfields:\n  x: {type: enum, values: [b, c], default: d}\nsteps: [{sleep: {for: 1m}}]\n",
			`procs/p.yaml:5:44: default of field "x" must be one of b, c, not "d"; did you mean "b"?`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, load(t, tc.src))
		})
	}
}

func TestDuplicateProcessType(t *testing.T) {
	proc := "process: p\ntitle: P\nseverities: [a]\nsteps: [{sleep: {for: 1m}}]\n"
	_, err := dsl.Load(fstest.MapFS{"a.yaml": {Data: []byte(proc)}, "b.yaml": {Data: []byte(proc)}}, "d")
	require.EqualError(t, err, `d/b.yaml:1:10: process type "p" is already declared at d/a.yaml:1:10`)
}

func TestDirectoryProblems(t *testing.T) {
	_, err := dsl.Load(fstest.MapFS{
		"p.yaml": {Data: []byte("process: p\ntitle: P\nseverities: [a]\nsteps: [{sleep: {for: 1m}}]\n")},
		"directory.yaml": {Data: []byte(`
people:
  - {id: alice, page_via: pagr}
teams:
  - {id: sre, members: [alice, alcie]}
channels:
  - {id: pager, type: webhok}
  - {id: hook, type: webhook, url: "ftp://x"}
calendar: {timezone: Mars/Olympus, weekend: [sundy]}
`)},
	}, "")
	require.EqualError(t, err, `directory.yaml:3:27: unknown channel "pagr"; did you mean "pager"?
directory.yaml:5:32: unknown person "alcie" in team members; did you mean "alice"?
directory.yaml:7:23: unknown channel type "webhok"; did you mean "webhook"? (supported: console, email, pagerduty, slack, webhook)
directory.yaml:8:5: warning: webhook channel "hook" has no secret_env: its requests are not signed
directory.yaml:8:36: channel "hook": url "ftp://x" must be an absolute http or https URL
directory.yaml:9:22: unknown time zone "Mars/Olympus": name the place, as the IANA time zone database does (Continent/City, like Europe/London or America/New_York)
directory.yaml:9:46: unknown weekday "sundy"; did you mean "sunday"?`)
}

func TestDirectoryChannelProblems(t *testing.T) {
	_, err := dsl.Load(fstest.MapFS{
		"p.yaml": {Data: []byte("process: p\ntitle: P\nseverities: [a]\nsteps: [{sleep: {for: 1m}}]\n")},
		"directory.yaml": {Data: []byte(`
channels:
  - {id: legal-email, type: email, to: [legal@example.com, "not an address"]}
  - {id: chat, type: slack, url: "https://hooks.slack.com/services/x"}
  - {id: pd, type: pagerduty, routing_key_env: pd_key, events_url: "events.pagerduty.com"}
calendar: {working_hours: "17:00-09:00"}
`)},
	}, "")
	require.EqualError(t, err, `directory.yaml:3:5: email channel "legal-email" needs the directory's smtp settings: smtp: {server: host:587, from: incidents@example.com}
directory.yaml:3:60: "not an address" is not an e-mail address: write it like legal@example.com
directory.yaml:4:5: slack channel "chat" needs webhook_url_env: the environment variable holding its incoming-webhook URL, which is a secret
directory.yaml:4:34: a slack channel takes no url (it takes webhook_url_env)
directory.yaml:5:48: "pd_key" is not an environment variable name (upper-case letters, digits and _)
directory.yaml:5:68: channel "pd": events_url "events.pagerduty.com" must be an absolute http or https URL
directory.yaml:6:27: working_hours "17:00-09:00" must be two times of day, the start before the end, like "09:00-17:00"`)

	_, err = dsl.Load(fstest.MapFS{
		"p.yaml": {Data: []byte("process: p\ntitle: P\nseverities: [a]\nsteps: [{sleep: {for: 1m}}]\n")},
		"directory.yaml": {Data: []byte(`
smtp: {server: smtp.example.com, from: incidents, username: bot, starttls: of}
channels:
  - {id: mail, type: email}
`)},
	}, "")
	require.EqualError(t, err, `directory.yaml:2:7: smtp needs both username and password_env to log in, or neither
directory.yaml:2:16: smtp.server "smtp.example.com" must be host:port, like smtp.example.com:587
directory.yaml:2:40: smtp.from "incidents" is not an e-mail address (like "Incidents <incidents@example.com>")
directory.yaml:2:76: smtp.starttls is one of required, opportunistic, off, not "of"; did you mean "off"?`)
}

func TestScheduleLayers(t *testing.T) {
	dir := `
people:
  - {id: alice}
  - {id: nina}
schedules:
  - id: primary
    rotation: {every: 1w, handoff: "2026-01-05T09:00", members: [alice]}
    layers:
      - rotation: {every: 1w, handoff: "2026-01-05T18:00", members: [nina]}
        days: [monday, tuesday, wednesday, thursday, friday]
        hours: "18:00-09:00"
`
	cat, err := dsl.Load(fstest.MapFS{
		"p.yaml":         {Data: []byte("process: p\ntitle: P\nseverities: [a]\nsteps: [{sleep: {for: 1m}}]\n")},
		"directory.yaml": {Data: []byte(dir)},
	}, "")
	require.NoError(t, err)
	sch, _ := cat.Directory.Schedule("primary")
	require.Equal(t, []dsl.Layer{{Rotation: dsl.Rotation{Every: sch.Layers[0].Rotation.Every, Handoff: "2026-01-05T18:00", Members: []string{"nina"}},
		Days: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}, From: "18:00", To: "09:00"}}, sch.Layers)

	_, err = dsl.Load(fstest.MapFS{
		"p.yaml": {Data: []byte("process: p\ntitle: P\nseverities: [a]\nsteps: [{sleep: {for: 1m}}]\n")},
		"directory.yaml": {Data: []byte(`
people: [{id: alice}]
schedules:
  - id: primary
    rotation: {every: 1w, handoff: "2026-01-05T09:00", members: [alice]}
    layers:
      - {rotation: {every: 1w, handoff: "2026-01-05T18:00", members: [nian]}, days: [fridy], hours: "18:00-18:00"}
      - {days: [monday]}
`)},
	}, "")
	require.EqualError(t, err, `directory.yaml:7:71: unknown person "nian" in a schedule
directory.yaml:7:86: unknown weekday "fridy"; did you mean "friday"?
directory.yaml:7:101: hours "18:00-18:00" must be two different times of day, like "09:00-17:00" or "18:00-09:00" (past midnight)
directory.yaml:8:9: a layer needs a rotation: {every, handoff, members}`)
}
