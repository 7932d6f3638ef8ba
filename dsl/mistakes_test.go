package dsl_test

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/dsl"
)

// authorMistakes are the mistakes people who are not programmers make in
// process files (engineering managers, DPOs, lawyers, heads of support),
// each with the exact report it gets: where, and in words, how to write it.
// An empty report means the file is accepted as the author meant it.
var authorMistakes = []struct{ name, src, want string }{
	{"YAMLTabIndent", "process: p\ntitle: P\nseverities: [a]\nsteps:\n\t- sleep: {for: 1m}\n",
		`procs/p.yaml:5:1: this line is indented with a tab; YAML allows only spaces for indenting, so replace the tab with spaces`},
	{"YAMLIndentTooFar", "process: p\ntitle: P\nseverities: [a]\nsteps:\n  - id: a\n     sleep: {for: 1m}\n",
		`procs/p.yaml:6:6: sleep is indented further than the line above it (line 5), which already has its value: line it up with the keys above it`},
	{"YAMLIndentMatchesNothing", "process: p\ntitle: P\nseverities: [a]\nsteps:\n  - id: a\n   sleep: {for: 1m}\n",
		`procs/p.yaml:6:4: sleep is indented 3 spaces, which lines up with nothing above it: indent it like the keys it belongs with`},
	{"YAMLNoSpaceAfterColon", "process: p\ntitle:Security\nseverities: [a]\nsteps: [{sleep: {for: 1m}}]\n",
		`procs/p.yaml:2:7: put a space after the colon: title: Security`},
	{"YAMLMissingDash", "process: p\ntitle: P\nseverities: [a]\nsteps:\n  - id: a\n    sleep: {for: 1m}\n  id: b\n  sleep: {for: 1m}\n",
		`procs/p.yaml:7:3: id lines up with the list items above it, which start with -: begin a new item with "- id:", or indent it further to belong to the item above`},
	{"YAMLMissingColon", "process: p\ntitle Security\nseverities: [a]\nsteps: [{sleep: {for: 1m}}]\n",
		`procs/p.yaml:2:6: a colon is missing after title: write title: Security`},
	{"YAMLMissingColonAfterKind", "process: p\ntitle: P\nseverities: [a]\nsteps:\n  - notify\n      to: [channel:console]\n",
		`procs/p.yaml:5:11: a colon is missing after notify: write - notify:`},
	{"YAMLUnclosedQuote", "process: p\ntitle: \"Security\nseverities: [a]\nsteps: [{sleep: {for: 1m}}]\n",
		`procs/p.yaml:2:8: the quote " that opens this value is never closed: end the value with " on the same line`},
	{"YAMLUnquotedTemplate", head + "  - notify:\n      to: [channel:console]\n      message: {{ .Incident.Title }}\n",
		`procs/p.yaml:13:16: a value that starts with {{ must be in quotes, or YAML reads it as keys and values: write message: "{{ .Incident.Title }}"`},
	{"YAMLUnquotedTemplateWithText", head + "  - notify:\n      to: [channel:console]\n      message: {{ .Incident.Title }} is down\n",
		`procs/p.yaml:13:16: a value that starts with {{ must be in quotes, or YAML reads it as keys and values: write message: "{{ .Incident.Title }} is down"`},
	{"YAMLUnquotedStar", head + "  - notify:\n      to: [channel:console]\n      message: *urgent* the site is down\n",
		`procs/p.yaml:13:16: a value that starts with * must be in quotes, or YAML reads it as a reference: write message: "*urgent* the site is down"`},
	{"YAMLUnquotedAt", head + "  - notify:\n      to: [channel:console]\n      message: @here the site is down\n",
		`procs/p.yaml:13:16: a value cannot start with @ unless it is in quotes: write message: "@here the site is down"`},
	{"YAMLUnquotedBacktick", head + "  - notify:\n      to: [channel:console]\n      message: `checkout` is down\n",
		"procs/p.yaml:13:16: a value cannot start with ` unless it is in quotes: write message: \"`checkout` is down\""},
	{"YAMLColonInValue", head + "  - notify:\n      to: [channel:console]\n      message: Note: the site is down\n",
		`procs/p.yaml:13:20: this value holds ": ", which YAML reads as the start of another key: put the whole value in quotes: message: "Note: the site is down"`},
	{"YAMLUnquotedBang", head + "  - if: !fields.personal_data\n    sleep: {for: 1m}\n",
		`procs/p.yaml:11:9: a value that starts with ! must be in quotes, or YAML reads the ! as a type: write if: "!fields.personal_data"`},
	{"YAMLDuplicateKey", "process: p\ntitle: P\ntitle: Q\nseverities: [a]\nsteps: [{sleep: {for: 1m}}]\n",
		`procs/p.yaml:3:1: a process has "title" twice (first on line 2): write each key once`},
	{"YAMLListWhereOneValue", "process: p\ntitle: [Security, Privacy]\nseverities: [a]\nsteps: [{sleep: {for: 1m}}]\n",
		`procs/p.yaml:2:8: title must be one value, not a list`},
	{"YAMLOneThingWhereList", "process: p\ntitle: P\nseverities: [a]\nsteps:\n  notify: {to: [channel:console], message: hi}\n",
		`procs/p.yaml:5:3: steps must be a list (each item on its own line starting with -, or [a, b]), not keys with values`},
	{"YAMLYesNoOnOffAccepted", head + "  - background: yes\n    sleep: {for: 1m}\n  - background: \"true\"\n    sleep: {for: 1m}\n  - background: off\n    sleep: {for: 1m}\n",
		""},
	{"YAMLNotABoolean", head + "  - background: maybe\n    sleep: {for: 1m}\n",
		`procs/p.yaml:11:17: background must be true or false, not "maybe"`},
	{"YAMLEmptyFile", "",
		`procs/p.yaml:1:1: the file is empty`},
	{"YAMLOnlyComments", "# a process, one day\n",
		`procs/p.yaml:1:1: the file is empty`},
	{"YAMLBOMAndCRLF", "\ufeffprocess: p\r\ntitle: P\r\nseverities: [a]\r\nsteps:\r\n  - sleep: {for: 1m}\r\n",
		""},
	{"YAMLSecondDocument", "process: p\ntitle: P\nseverities: [a]\nsteps: [{sleep: {for: 1m}}]\n---\nprocess: q\n",
		`procs/p.yaml:5:1: a file holds one process (or the directory): remove this --- and what follows it, or move that into a file of its own`},
	{"CondSingleEquals", head + "  - if: severity = \"critical\"\n    sleep: {for: 1m}\n",
		`procs/p.yaml:11:18: condition: = does not compare: write == to compare, like severity == "critical"`},
	{"CondAnd", head + "  - if: severity == \"critical\" and fields.personal_data\n    sleep: {for: 1m}\n",
		`procs/p.yaml:11:32: condition: "and" is not an operator in conditions: write && for and: severity == "critical" && fields.personal_data`},
	{"CondOr", head + "  - if: severity == \"critical\" or fields.personal_data\n    sleep: {for: 1m}\n",
		`procs/p.yaml:11:32: condition: "or" is not an operator in conditions: write || for or: severity == "critical" || fields.personal_data`},
	{"CondNot", head + "  - if: not fields.personal_data\n    sleep: {for: 1m}\n",
		`procs/p.yaml:11:9: condition: "not" is not an operator in conditions: write ! for not, right before what it negates: !fields.personal_data`},
	{"CondSingleAmpersand", head + "  - if: fields.personal_data & severity == \"critical\"\n    sleep: {for: 1m}\n",
		`procs/p.yaml:11:30: condition: write && (two of them) for and`},
	{"CondSinglePipe", head + "  - if: fields.personal_data | severity == \"critical\"\n    sleep: {for: 1m}\n",
		`procs/p.yaml:11:30: condition: write || (two of them) for or`},
	{"CondUnquotedWord", head + "  - if: severity == critical\n    sleep: {for: 1m}\n",
		`procs/p.yaml:11:21: condition: critical is a word, not a name the condition knows: put it in quotes, "critical"`},
	{"CondBoolComparedWithText", head + "  - if: fields.personal_data == \"true\"\n    sleep: {for: 1m}\n",
		`procs/p.yaml:11:30: condition compares true or false with text: write true or false without quotes (== true), or use the yes-or-no value on its own`},
	{"CondSeverityOrder", head + "  - if: severity >= \"major\"\n    sleep: {for: 1m}\n",
		`procs/p.yaml:11:9: severities are not compared with >=: write severity_at_least("major"), which is true for major and every severity above it`},
	{"CondIs", head + "  - if: status is resolved\n    sleep: {for: 1m}\n",
		`procs/p.yaml:11:16: condition: "is" is not an operator in conditions: write == for is, with the word in quotes: status == "resolved"`},
	{"CondYes", head + "  - if: fields.personal_data == yes\n    sleep: {for: 1m}\n",
		`procs/p.yaml:11:33: condition: write true instead of yes: a yes-or-no field is true or false, without quotes (fields.personal_data == true, or just fields.personal_data)`},
	{"CondUnknownField", head + "  - if: fields.personal_dta\n    sleep: {for: 1m}\n",
		`procs/p.yaml:11:9: condition uses field "personal_dta", which the process does not declare; did you mean "fields.personal_data"?`},
	{"CondNotTrueOrFalse", head + "  - if: fields.affected_users\n    sleep: {for: 1m}\n",
		`procs/p.yaml:11:9: condition must come out true or false, but fields.affected_users is a whole number: compare it, like fields.affected_users > 0`},
	{"CondUnclosedParen", head + "  - if: (severity == \"critical\"\n    sleep: {for: 1m}\n",
		`procs/p.yaml:11:9: condition: this ( is never closed: add the ) that ends it`},
	{"CondExtraParen", head + "  - if: severity == \"critical\")\n    sleep: {for: 1m}\n",
		`procs/p.yaml:11:31: condition: this ) closes nothing: remove it, or add the ( it belongs to`},
	{"CondUnclosedQuote", head + "  - if: 'severity == \"critical'\n    sleep: {for: 1m}\n",
		`procs/p.yaml:11:22: condition: the quote " opened here is never closed: end the word with "`},
	{"CondSmartQuotes", head + "  - if: severity == “critical”\n    sleep: {for: 1m}\n",
		`procs/p.yaml:11:21: condition: “ ” and ‘ ’ are typographic quotes, perhaps pasted from a document: write plain quotes, like "critical"`},
	{"CondUnknownStatus", head + "  - if: status == \"resolvd\"\n    sleep: {for: 1m}\n",
		`procs/p.yaml:11:20: unknown status "resolvd" in condition; did you mean "resolved"? (statuses: triage, investigating, fixing, monitoring, resolved, closed, declined)`},
	{"CondUnknownSeverity", head + "  - if: severity != \"majr\"\n    sleep: {for: 1m}\n",
		`procs/p.yaml:11:22: unknown severity "majr" in condition; did you mean "major"? (severities: critical, major, minor)`},
	{"CondIntComparedWithText", head + "  - if: fields.affected_users > \"100\"\n    sleep: {for: 1m}\n",
		`procs/p.yaml:11:31: condition cannot compare a whole number with text using >: compare like with like, a number with a number (> 100) and text with a word in quotes`},
	{"TmplWrongCase", head + "  - notify: {to: [channel:console], message: \"{{ .incident.ref }}\"}\n",
		`procs/p.yaml:11:50: write .Incident, not .incident: names in messages are written exactly, capitals included`},
	{"TmplMissingDot", head + "  - notify: {to: [channel:console], message: \"{{ Incident.Ref }}\"}\n",
		`procs/p.yaml:11:50: write .Incident, with a dot before it: {{ .Incident.Ref }}`},
	{"TmplUnclosed", head + "  - notify: {to: [channel:console], message: \"{{ .Incident.Ref }\"}\n",
		`procs/p.yaml:11:47: a placeholder opened with {{ must close with two braces: }}`},
	{"TmplOneOpeningBrace", head + "  - notify: {to: [channel:console], message: \"{ .Incident.Ref }}\"}\n",
		`procs/p.yaml:11:47: this }} closes no placeholder: open it with two braces, like {{ .Incident.Ref }}`},
	{"TmplUnknownField", head + "  - notify: {to: [channel:console], message: \"{{ .Fields.servce }}\"}\n",
		`procs/p.yaml:11:57: the process declares no field "servce"; did you mean "service"? (fields: affected_users, personal_data, service)`},
	{"TmplLinksCase", head + "  - notify: {to: [channel:console], message: \"{{.Links.incident}}\"}\n",
		`procs/p.yaml:11:55: write .Links.Incident, not .Links.incident: names in messages are written exactly, capitals included`},
	{"TmplOutputCase", head + "  - id: contained\n    wait: {signal: contained, timeout: 1h}\n  - notify: {to: [channel:console], message: \"{{ .Steps.contained.output.timed_out }}\"}\n",
		`procs/p.yaml:13:66: write .Steps.contained.Output, not .Steps.contained.output: names in messages are written exactly, capitals included`},
	{"TmplLaterStep", head + "  - notify: {to: [channel:console], message: \"{{ .Steps.contained.Output.timed_out }}\"}\n  - id: contained\n    wait: {signal: contained, timeout: 1h}\n",
		`procs/p.yaml:11:46: this text uses the outputs of step "contained", which comes later (line 12): a step sees only the outputs of the steps before it`},
	{"TmplUnknownStep", head + "  - notify: {to: [channel:console], message: \"{{ .Steps.containd.Output.timed_out }}\"}\n  - id: contained\n    wait: {signal: contained, timeout: 1h}\n",
		`procs/p.yaml:11:56: no step has the id "containd"; did you mean "contained"? (steps with ids: contained)`},
	{"TmplFunction", head + "  - notify: {to: [channel:console], message: \"{{ .Incident.Title | upper }}\"}\n",
		`procs/p.yaml:11:68: "upper" is not something a message can use: a placeholder shows a value, like {{ .Incident.Title }}, and messages have no functions but when (which writes a date and time) and the template's own (if, else, end, range, with, printf, len, index, eq, ne)`},
	{"TmplInsideValue", head + "  - notify: {to: [channel:console], message: \"{{ .Incident.Ref.Number }}\"}\n",
		`procs/p.yaml:11:50: .Incident.Ref is a single value, with nothing called Number inside it: write .Incident.Ref on its own`},
	{"TmplIfNotEnded", head + "  - notify: {to: [channel:console], message: \"{{ if .Fields.personal_data }}personal data\"}\n",
		`procs/p.yaml:11:47: an {{ if }}, {{ range }} or {{ with }} is never closed: end it with {{ end }}`},
	{"TmplInBlock", head + "  - notify:\n      to: [channel:console]\n      message: |\n        The site is down.\n        See {{ .Links.Incidnt }}\n",
		`procs/p.yaml:15:22: .Links has no Incidnt; did you mean ".Links.Incident"? (it has Acknowledge, Approve, Incident, Review, Temporal)`},
	{"DurAccepted", head + "  - sleep: {for: 72 hours}\n  - sleep: {for: 3 days}\n  - sleep: {for: 1 week}\n  - sleep: {for: 3 weeks}\n  - sleep: {for: 2 working days}\n  - sleep: {for: 5 business day}\n  - sleep: {for: 1.5 days}\n  - sleep: {for: 1 month}\n",
		""},
	{"DurNoUnit", head + "  - sleep: {for: 72}\n",
		`procs/p.yaml:11:18: sleep.for: "72" has no unit: write 72h for hours, 72m for minutes or 72 days`},
	{"DurWords", head + "  - sleep: {for: one hour}\n",
		`procs/p.yaml:11:18: sleep.for: "one hour": write the number in digits, like 1 hour`},
	{"DurNegative", head + "  - sleep: {for: -1h}\n",
		`procs/p.yaml:11:18: sleep.for: "-1h" is negative: a duration says how long, so write it without the minus, like 1h`},
	{"DurZero", head + "  - sleep: {for: 0}\n",
		`procs/p.yaml:11:18: sleep.for: "0" is zero: a duration must be longer than that`},
	{"DurFractionOfBusinessDays", head + "  - sleep: {for: 1.5 business days}\n",
		`procs/p.yaml:11:18: sleep.for: "1.5 business days": business days are counted whole, so write a whole number (or the length in hours, like 36h)`},
	{"DurUnknownUnit", head + "  - sleep: {for: 3 dys}\n",
		`procs/p.yaml:11:18: sleep.for: "3 dys": "dys" is not a unit of time (write for example 30m, 72 hours, 3 days, 2 weeks, 1 month or 5 business days); did you mean "days"?`},
	{"DurMonthsWhereFixed", head + "  - deadline: {title: T, within: 30 days, remind_before: [1 month], notify: [channel:console]}\n",
		`procs/p.yaml:11:59: deadline.remind_before takes fixed lengths of time (like 24h or 7d), not business days or months: a reminder comes that long before the due time`},
	{"CountUnknown", head + "  - deadline: {title: T, within: 3 days, count: law}\n",
		`procs/p.yaml:11:49: deadline.count "law" is not a way of counting: write exact (from the moment, the default), eu (as Regulation 1182/71 counts periods) or us (as FRCP 6(a) and the SEC count them)`},
	{"CountMixedUnits", head + "  - deadline: {title: T, within: 1d12h, count: eu}\n",
		`procs/p.yaml:11:34: deadline.within "1d12h" mixes days and hours, which count: eu cannot count: write whole days (like 3 days, 2 weeks, 1 month or 4 business days) or hours only (like 36h)`},
	{"CountDayEndsWithoutCount", head + "  - deadline: {title: T, within: 4 business days, day_ends: \"17:30\"}\n",
		`procs/p.yaml:11:61: deadline.day_ends applies to periods counted in whole days: add count: eu or count: us, or remove day_ends (a period counted exactly ends at the same time of day)`},
	{"CountDayEndsOnHours", head + "  - deadline: {title: T, within: 72h, count: eu, day_ends: \"17:30\"}\n",
		`procs/p.yaml:11:60: deadline.day_ends has no effect: a period in hours (72h) ends at the same minute it started, under every count`},
	{"CountDayEndsWrong", head + "  - deadline: {title: T, within: 4 business days, count: us, day_ends: \"5:30pm\"}\n",
		`procs/p.yaml:11:72: deadline.day_ends "5:30pm" must be a time of day written HH:MM (24-hour clock), with a time zone after it when the days are not the calendar's: "17:30" or "17:30 America/New_York"`},
	{"CountDayEndsZone", head + "  - deadline: {title: T, within: 4 business days, count: us, day_ends: \"17:30 ET\"}\n",
		`procs/p.yaml:11:72: deadline.day_ends "17:30 ET": "ET" is the name of a clock, which changes with summer time; name the place, as the IANA time zone database does (Continent/City, like Europe/London or America/New_York): here probably America/New_York`},
	{"CountUnknownCalendar", head + "  - deadline: {title: T, within: 4 business days, count: us, calendar: us-federal}\n",
		`procs/p.yaml:11:72: unknown calendar "us-federal": the directory lists no calendars (under calendars:); leave calendar out to count on the directory's own calendar`},
	{"TargetWithoutKind", head + "  - notify: {to: [legal], message: hi}\n",
		`procs/p.yaml:11:19: target "legal" needs its kind before it: write role:legal`},
	{"TargetAsKeyAndValue", head + "  - notify:\n      to:\n        - person: alice\n      message: hi\n",
		`procs/p.yaml:13:11: write person:alice as one word, without a space after the colon (with it, YAML reads a key and a value)`},
	{"TargetEmail", head + "  - notify: {to: [\"email:legal@example.com\"], message: hi}\n",
		`procs/p.yaml:11:19: "email:legal@example.com": e-mail goes out through a channel of the directory, so write channel:ID for an email channel whose to lists legal@example.com (or person:ID for someone with that e-mail)`},
	{"TargetCase", head + "  - notify: {to: [team:SRE, Person:alice], message: hi}\n",
		`procs/p.yaml:11:19: unknown team "SRE"; did you mean "sre"?
procs/p.yaml:11:29: write the kind in lower case: person:alice`},
	{"TargetUnknown", head + "  - notify: {to: [person:alcie, team:sre-oncall, channel:legal-emial, role:leagl], message: hi}\n  - page: {policy: security-oncall, message: hi}\n",
		`procs/p.yaml:11:19: unknown person "alcie"; did you mean "alice"?
procs/p.yaml:11:33: unknown team "sre-oncall"
procs/p.yaml:11:50: unknown channel "legal-emial"; did you mean "legal-email"?
procs/p.yaml:11:71: unknown role "leagl": the process declares roles lead, legal; did you mean "legal"?
procs/p.yaml:12:20: unknown escalation policy "security-oncall"`},
	{"StepMisspeltKind", head + "  - notfy: {to: [channel:console], message: hi}\n",
		`procs/p.yaml:11:5: unknown key "notfy" in a step; did you mean "notify"?`},
	{"StepKindInCapitals", head + "  - Notify: {to: [channel:console], message: hi}\n",
		`procs/p.yaml:11:5: keys are written in lower case: notify, not Notify`},
	{"StepTwoKinds", head + "  - notify: {to: [channel:console], message: hi}\n    sleep: {for: 1m}\n",
		`procs/p.yaml:12:5: a step does one thing, but this one is both notify and sleep; split it into two steps`},
	{"StepNoKind", head + "  - id: tell\n    name: Tell legal\n",
		`procs/p.yaml:11:5: a step needs one kind, which says what it does: approval, deadline, http, notify, page, parallel, repeat, review, set, sleep, steps, task, wait`},
	{"StepKindAlone", head + "  - notify\n",
		`procs/p.yaml:11:5: notify needs a colon and what it takes, like notify: {...} or the keys on the lines below it`},
	{"StepIDDashes", head + "  - id: tell-legal\n    sleep: {for: 1m}\n",
		`procs/p.yaml:11:9: step id "tell-legal" must be lower-case letters, digits and _, starting with a letter, because conditions use it as steps.ID: write tell_legal`},
	{"StepIDCapitals", head + "  - id: TellLegal\n    sleep: {for: 1m}\n",
		`procs/p.yaml:11:9: step id "TellLegal" must be lower-case letters, digits and _, starting with a letter, because conditions use it as steps.ID: write tell_legal`},
	{"StepUnknownKeys", head + "  - notify: {to: [channel:console], mesage: hi}\n  - wait: {signal: contained, timout: 1h}\n    nmae: Wait\n",
		`procs/p.yaml:11:13: notify needs a message
procs/p.yaml:11:37: unknown key "mesage" in notify; did you mean "message"?
procs/p.yaml:12:31: unknown key "timout" in wait; did you mean "timeout"?
procs/p.yaml:13:5: unknown key "nmae" in a step; did you mean "name"?`},
	{"StepIfInsideKind", head + "  - notify:\n      to: [channel:console]\n      message: hi\n      if: severity == \"critical\"\n",
		`procs/p.yaml:14:7: if belongs to the step, not inside notify: move it out, in line with the step's kind (notify)`},
	{"ProcessUnknownKey", "process: p\ntitel: P\nseverities: [a]\nsteps: [{sleep: {for: 1m}}]\n",
		`procs/p.yaml:1:1: a process needs "title"
procs/p.yaml:2:1: unknown key "titel" in a process; did you mean "title"?`},
}

// head starts the process files of authorMistakes that are about steps.
const head = "process: p\ntitle: P\nseverities: [critical, major, minor]\nroles: [lead, legal]\nsignals: [contained]\nfields:\n  personal_data: {type: bool}\n  affected_users: {type: int}\n  service: {type: string}\nsteps:\n"

func TestAuthorMistakes(t *testing.T) {
	for _, tc := range authorMistakes {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, load(t, tc.src))
		})
	}
}

// directoryMistakes are the mistakes people make in directory.yaml.
var directoryMistakes = []struct{ name, src, want string }{
	{"TimeZoneCity", "people:\n  - {id: alice, timezone: London}\n",
		`directory.yaml:2:27: unknown time zone "London"; did you mean "Europe/London"?`},
	{"TimeZoneOffset", "people:\n  - {id: alice, timezone: GMT+1}\n",
		`directory.yaml:2:27: "GMT+1" is a fixed offset from UTC, which ignores summer time; name the place, as the IANA time zone database does (Continent/City, like Europe/London or America/New_York)`},
	{"TimeZoneAbbreviation", "calendar: {timezone: BST}\n",
		`directory.yaml:1:22: "BST" is the name of a clock, which changes with summer time; name the place, as the IANA time zone database does (Continent/City, like Europe/London or America/New_York): here probably Europe/London`},
	{"TimeZoneLowerCase", "calendar: {timezone: europe/london}\n",
		`directory.yaml:1:22: unknown time zone "europe/london"; did you mean "Europe/London"?`},
	{"TimeZoneWithoutSummerTime", "calendar: {timezone: GMT}\n",
		`directory.yaml:1:22: warning: time zone "GMT" keeps the same clock all year, without summer time; if you mean the time where people are, write Europe/London`},
	{"HolidayDayFirst", "calendar: {holidays: [25/12/2026]}\n",
		`directory.yaml:1:23: holiday "25/12/2026" must be a date written YYYY-MM-DD, like 2026-12-25`},
	{"HolidayAmbiguous", "calendar: {holidays: [\"03/04/2026\"]}\n",
		`directory.yaml:1:23: holiday "03/04/2026" must be a date written YYYY-MM-DD: 2026-04-03 if you mean 3 April, 2026-03-04 if you mean 4 March`},
	{"HolidayInWords", "calendar: {holidays: [December 26 2026]}\n",
		`directory.yaml:1:23: holiday "December 26 2026" must be a date written YYYY-MM-DD, like 2026-12-26`},
	{"WeekendShortNamesAccepted", "calendar: {weekend: [Sat, sun]}\n", ""},
	{"WeekendEveryDay", "calendar: {weekend: [mon, tue, wed, thu, fri, sat, sun]}\n",
		`directory.yaml:1:11: the calendar has every day of the week as its weekend, so it has no business days: list only the days off, like [saturday, sunday]`},
	{"WeekdayUnknown", "calendar: {weekend: [Saterday]}\n",
		`directory.yaml:1:22: unknown weekday "Saterday"; did you mean "saturday"?`},
	{"EmailWithoutAt", "people:\n  - {id: alice, email: alice.example.com}\n",
		`directory.yaml:2:24: "alice.example.com" is not an e-mail address: write it like alice@example.com`},
	{"HandoffFormat", "people: [{id: alice}]\nschedules:\n  - id: primary\n    rotation: {every: 1w, handoff: \"Monday 09:00\", members: [alice]}\n",
		`directory.yaml:4:36: "Monday 09:00" must be a date and a time of day in the schedule's time zone, written YYYY-MM-DDTHH:MM, like 2026-01-05T09:00 (the first hand-off, a Monday at 09:00)`},
	{"RotationInBusinessDays", "people: [{id: alice}]\nschedules:\n  - id: primary\n    rotation: {every: 5 business days, handoff: \"2026-01-05T09:00\", members: [alice]}\n",
		"directory.yaml:4:15: schedule \"primary\": a rotation needs every, handoff and members\n" +
			`directory.yaml:4:23: rotation.every is a fixed length of time (like 1w or 12h), not business days or months`},
	{"OverrideEndsBeforeItStarts", "people: [{id: alice}, {id: bob}]\nschedules:\n  - id: primary\n    rotation: {every: 1w, handoff: \"2026-01-05T09:00\", members: [alice]}\n    overrides:\n      - {person: bob, from: \"2026-12-27T00:00\", to: \"2026-12-24T00:00\"}\n",
		`directory.yaml:6:53: the override of bob ends (2026-12-24T00:00) before it starts (2026-12-27T00:00): to must be later than from`},
	{"TeamMemberNotInDirectory", "people: [{id: alice}]\nteams:\n  - {id: sre, members: [alice, alcie]}\n",
		`directory.yaml:3:32: unknown person "alcie" in team members; did you mean "alice"?`},
	{"CalendarsRepeatAnID", "calendars:\n  - {id: us, timezone: America/New_York}\n  - {id: us, timezone: America/Chicago}\n",
		`directory.yaml:3:10: calendar id "us" is already used at line 2`},
	{"UnknownKeyInPerson", "people:\n  - {id: alice, time_zone: Europe/London}\n",
		`directory.yaml:2:17: unknown key "time_zone" in a person; did you mean "timezone"?`},
}

func loadDirectory(t *testing.T, src string) string {
	t.Helper()
	_, err := dsl.Load(fstest.MapFS{
		"p.yaml":         {Data: []byte("process: p\ntitle: P\nseverities: [a]\nsteps: [{sleep: {for: 1m}}]\n")},
		"directory.yaml": {Data: []byte(src)},
	}, "")
	var problems dsl.Problems
	if err == nil {
		return ""
	}
	if !errors.As(err, &problems) {
		return err.Error()
	}
	return problems.Error()
}

func TestDirectoryMistakes(t *testing.T) {
	for _, tc := range directoryMistakes {
		t.Run(tc.name, func(t *testing.T) {
			got := loadDirectory(t, tc.src)
			if got == "" {
				// Warnings alone do not stop the directory: read them from the catalog.
				cat, err := dsl.Load(fstest.MapFS{
					"p.yaml":         {Data: []byte("process: p\ntitle: P\nseverities: [a]\nsteps: [{sleep: {for: 1m}}]\n")},
					"directory.yaml": {Data: []byte(tc.src)},
				}, "")
				require.NoError(t, err)
				if len(cat.Warnings) > 0 {
					got = cat.Warnings.Error()
				}
			}
			require.Equal(t, tc.want, got)
		})
	}
}

// jargon are words of YAML, CEL and Go that mean nothing to the people who
// write processes.
var jargon = regexp.MustCompile(`(?i)\b(mapping|scalar|sequence|node|cel|token|eof|nil|struct|interface|mismatched|alias|boolean|int|string)\b|!!|map\[|<\.|\byaml:`)

// TestMessagesSpeakPlainly runs every mistake of the corpus (the tables
// here and testdata/invalid) and fails on any message that speaks jargon.
func TestMessagesSpeakPlainly(t *testing.T) {
	var reports []string
	for _, tc := range authorMistakes {
		reports = append(reports, load(t, tc.src))
	}
	for _, tc := range directoryMistakes {
		reports = append(reports, tc.want, loadDirectory(t, tc.src))
	}
	wants, err := filepath.Glob("testdata/invalid/*.want")
	require.NoError(t, err)
	for _, f := range wants {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		reports = append(reports, string(b))
	}
	for _, in := range []string{"", "72", "one hour", "-1h", "0", "1.5 business days", "3 dys", "1 month 2 days", "soon", "1M"} {
		_, err := dsl.ParseDuration(in)
		reports = append(reports, err.Error())
	}
	checked := 0
	for _, report := range reports {
		for _, line := range strings.Split(report, "\n") {
			if line == "" {
				continue
			}
			checked++
			// The text the author wrote is quoted back; only our words count.
			words := quoted.ReplaceAllString(position.ReplaceAllString(line, ""), `""`)
			require.False(t, jargon.MatchString(words), "jargon in %q: %q", line, jargon.FindString(words))
		}
	}
	require.Greater(t, checked, 150)
}

// position is the file:line:col a report line starts with.
var position = regexp.MustCompile(`^[^ ]+:\d+:\d+: `)

// quoted is text in quotes, which is the author's own.
var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
