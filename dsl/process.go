package dsl

import (
	"regexp"
	"slices"
)

// Statuses an incident moves through, in their usual order.
var Statuses = []string{"triage", "investigating", "fixing", "monitoring", "resolved", "closed", "declined"}

// IsStatus reports whether s is one of Statuses.
func IsStatus(s string) bool { return slices.Contains(Statuses, s) }

// IsFinalStatus reports whether an incident in status s is over: its run ends.
func IsFinalStatus(s string) bool { return s == "closed" || s == "declined" }

// IsSignalName reports whether s can name a signal (and a field or role):
// lower-case letters, digits and _, starting with a letter.
func IsSignalName(s string) bool { return namePattern.MatchString(s) }

// DefaultInitialStatus is the status of a newly declared incident unless its process says otherwise.
const DefaultInitialStatus = "investigating"

// FieldTypes are the types a process field may declare.
var FieldTypes = []string{"string", "text", "bool", "int", "number", "time", "enum", "list"}

var (
	namePattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)          // fields, roles, signals: CEL identifiers
	idPattern   = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`) // process types, step ids, directory ids
)

// Process is one incident type: its metadata and the steps its run executes. It is
// the compiled snapshot a workflow receives as input, so it marshals to JSON and
// back without loss; positions are kept for validation only.
type Process struct {
	Type          string     `json:"process"`
	Title         string     `json:"title"`
	Description   string     `json:"description,omitempty"`
	Severities    []string   `json:"severities"`
	InitialStatus string     `json:"initial_status"`
	Fields        []FieldDef `json:"fields,omitempty"`
	Roles         []string   `json:"roles,omitempty"`
	// Signals are the named events people may send the incident.
	Signals  []string  `json:"signals,omitempty"`
	Steps    []Step    `json:"steps"`
	Handlers []Handler `json:"on,omitempty"`
	// Visibility restricts who sees the process's incidents.
	Visibility *Visibility `json:"visibility,omitempty"`
}

// Visibility restricts who sees a process's incidents: when Restricted,
// only its Viewers (people, teams, holders of a role of the incident), the
// incident's role holders, the people it reached, and admins; to anyone
// else it does not exist.
type Visibility struct {
	Restricted bool     `json:"restricted"`
	Viewers    []Target `json:"viewers,omitempty"`
}

// RoleApproves reports whether an approval step of the process waits for
// the holder of the role.
func (p *Process) RoleApproves(role string) bool {
	approves := false
	WalkProcess(p, func(s *Step) { approves = approves || s.Approval != nil && s.Approval.Role == role })
	return approves
}

// Restricted reports whether the process shows its incidents only to their viewers.
func (p *Process) Restricted() bool { return p.Visibility != nil && p.Visibility.Restricted }

// FieldDef declares one typed incident field.
type FieldDef struct {
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	Description string   `json:"description,omitempty"`
	Required    bool     `json:"required,omitempty"`
	Values      []string `json:"values,omitempty"` // enum only
	Default     any      `json:"default,omitempty"`
	// Min and Max bound an int or number field (a count of people is
	// never negative); nil is no bound.
	Min *float64 `json:"min,omitempty"`
	Max *float64 `json:"max,omitempty"`
}

// Field returns the declaration of the named field.
func (p *Process) Field(name string) (FieldDef, bool) {
	for _, f := range p.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return FieldDef{}, false
}

// SeverityRank is the position of s in the process's severities (0 is the most
// severe), or -1 when the process does not know s.
func (p *Process) SeverityRank(s string) int { return slices.Index(p.Severities, s) }

// Step is one thing a run does. Exactly one of the kind pointers is set.
type Step struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
	If   string `json:"if,omitempty"`
	// Background runs the step beside the steps that follow it; it is
	// cancelled when the incident closes.
	Background bool `json:"background,omitempty"`
	// Retry and Timeout bound the side effects the step causes.
	Retry   *Retry    `json:"retry,omitempty"`
	Timeout *Duration `json:"timeout,omitempty"`
	// ContinueOnError keeps a parallel step's join from failing with a branch.
	ContinueOnError bool `json:"continue_on_error,omitempty"`

	Notify   *Notify   `json:"notify,omitempty"`
	Set      *Set      `json:"set,omitempty"`
	Wait     *Wait     `json:"wait,omitempty"`
	Sleep    *Sleep    `json:"sleep,omitempty"`
	Steps    []Step    `json:"steps,omitempty"`
	Parallel []Step    `json:"parallel,omitempty"`
	Repeat   *Repeat   `json:"repeat,omitempty"`
	Deadline *Deadline `json:"deadline,omitempty"`
	HTTP     *HTTP     `json:"http,omitempty"`
	Page     *Page     `json:"page,omitempty"`
	Approval *Approval `json:"approval,omitempty"`
	Task     *Task     `json:"task,omitempty"`
	Review   *Review   `json:"review,omitempty"`

	// ApprovalsAfter is, for a step whose message asks for an approve link,
	// how many approvals begin right after it: its link is for them.
	ApprovalsAfter int `json:"approvals_after,omitempty"`
	Pos            Pos `json:"-"`
}

// Task creates a follow-up owned by a person or a role's holder, due after
// Due, and optionally waits until it is done.
type Task struct {
	Owner       Target    `json:"owner"`
	Title       string    `json:"title"`
	Description string    `json:"description,omitempty"`
	Due         *Duration `json:"due,omitempty"`
	Wait        bool      `json:"wait,omitempty"`
}

// Review schedules the post-incident review: a meeting of Length, Notice
// after the step starts, in working hours on a business day and within
// Within; invitations (iCalendar) go to the attendees, reminders before it,
// and the step waits until someone marks it held.
type Review struct {
	Title        string     `json:"title"` // template
	Description  string     `json:"description,omitempty"`
	Within       Duration   `json:"within"`
	Notice       Duration   `json:"notice"`
	Length       Duration   `json:"duration"`
	Attendees    []Target   `json:"attendees"`
	RemindBefore []Duration `json:"remind_before,omitempty"`
	// Via is the channel invitations go through; empty means each attendee's own.
	Via string `json:"via,omitempty"`
}

// Review defaults: what a step that does not say gets.
const (
	DefaultReviewTitle  = "Post-incident review: {{ .Incident.Ref }} {{ .Incident.Title }}"
	defaultReviewNotice = "1 business day"
	defaultReviewLength = "1h"
	defaultReviewRemind = "1h"
)

// Approval waits until the holder of Role approves through the API. With
// RemindEvery it reminds Remind (the role's holder unless the process says
// otherwise) that often while it waits, with RemindMessage (a template;
// empty, the run words it), until it is approved or Timeout runs out.
type Approval struct {
	Role          string    `json:"role"`
	Timeout       *Duration `json:"timeout,omitempty"`
	OnTimeout     []Step    `json:"on_timeout,omitempty"`
	RemindEvery   *Duration `json:"remind_every,omitempty"`
	Remind        []Target  `json:"remind,omitempty"`
	RemindMessage string    `json:"remind_message,omitempty"`
}

// Page runs an escalation policy of the directory until someone acknowledges.
type Page struct {
	Policy  string `json:"policy"`
	Message string `json:"message"`
}

// SecretEnvPrefix starts the names of the environment variables an http
// step's secret_headers may name: the worker's other variables (its
// database URL, its link secret) are not a process's to send.
const SecretEnvPrefix = "INCIDENTFLOW_SECRET_"

// HTTP calls another system: a ticket tracker, a DPO tool, a status page.
// URL, header values and string values in Body are templates.
type HTTP struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	// SecretHeaders name, for each header, the environment variable of the
	// worker that holds its value: secrets never live in process files.
	SecretHeaders map[string]string `json:"secret_headers,omitempty"`
	Body          any               `json:"body,omitempty"`
	// Expect lists the statuses that count as success (default: any 2xx).
	Expect []int `json:"expect,omitempty"`
	// Output maps an output name to a field of the JSON response (a.b.c).
	Output map[string]string `json:"output,omitempty"`
}

// Deadline is a statutory or contractual clock: due Within after From,
// counted by Count, with reminders before it, Overdue steps after it, met by
// the DoneWhen signal.
type Deadline struct {
	Title  string   `json:"title"`
	Within Duration `json:"within"`
	From   string   `json:"from"` // declared, acknowledged, signal:NAME or field:NAME
	// Count is the rule Within is counted by (CountRules); empty is
	// CountExact, which is what every deadline meant before count existed.
	Count string `json:"count,omitempty"`
	// DayEnds is when the last day of a period counted in whole days ends
	// ("17:30 America/New_York", see ParseDayEnd); empty is midnight in the
	// calendar's zone.
	DayEnds string `json:"day_ends,omitempty"`
	// Calendar is the directory calendar (deadline.calendar) the period is
	// counted on, copied in when the process is loaded; nil is the
	// directory's own calendar, as the incident was declared with it.
	Calendar     *Calendar  `json:"calendar,omitempty"`
	RemindBefore []Duration `json:"remind_before,omitempty"`
	Notify       []Target   `json:"notify,omitempty"`
	DoneWhen     string     `json:"done_when,omitempty"` // signal:NAME
	Overdue      []Step     `json:"overdue,omitempty"`
}

// Retry is how a step's side effects are retried: at most Attempts tries
// (0: until the step's timeout), waiting Backoff, doubling up to MaxBackoff.
type Retry struct {
	Attempts   int       `json:"attempts,omitempty"`
	Backoff    *Duration `json:"backoff,omitempty"`
	MaxBackoff *Duration `json:"max_backoff,omitempty"`
}

// Repeat runs its steps at once and then every Every, until its condition holds.
type Repeat struct {
	Every Duration `json:"every"`
	Until string   `json:"until"`
	Steps []Step   `json:"steps"`
}

// Handler runs steps when something changes during the incident.
type Handler struct {
	// On is the trigger: severity_raised, severity_lowered, status_changed,
	// field_changed:NAME or signal:NAME.
	On    string `json:"on"`
	Steps []Step `json:"steps"`
	// When is a condition: the handler runs only when the change makes it
	// true (false just before, true just after), once per crossing; with
	// EveryChange, on every change while it holds.
	When        string `json:"when,omitempty"`
	EveryChange bool   `json:"every_change,omitempty"`
}

// Triggers a handler may name without an argument.
var Triggers = []string{"severity_raised", "severity_lowered", "status_changed"}

// Kind names the step's kind ("notify", "wait", ...).
func (s *Step) Kind() string {
	switch {
	case s.Notify != nil:
		return "notify"
	case s.Set != nil:
		return "set"
	case s.Wait != nil:
		return "wait"
	case s.Sleep != nil:
		return "sleep"
	case s.Steps != nil:
		return "steps"
	case s.Parallel != nil:
		return "parallel"
	case s.Repeat != nil:
		return "repeat"
	case s.Deadline != nil:
		return "deadline"
	case s.HTTP != nil:
		return "http"
	case s.Page != nil:
		return "page"
	case s.Approval != nil:
		return "approval"
	case s.Task != nil:
		return "task"
	case s.Review != nil:
		return "review"
	}
	return ""
}

// Label is what people see for the step: its name, else a deadline's title,
// else its id, else its kind.
func (s *Step) Label() string {
	switch {
	case s.Name != "":
		return s.Name
	case s.Deadline != nil && s.Deadline.Title != "":
		return s.Deadline.Title
	case s.ID != "":
		return s.ID
	}
	return s.Kind()
}

// Notify sends a templated message to targets.
type Notify struct {
	To      []Target `json:"to"`
	Message string   `json:"message"`
}

// Target is a reference to who or where a message goes: channel:ID, person:ID,
// team:ID or role:NAME.
type Target struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
}

func (t Target) String() string { return t.Kind + ":" + t.ID }

// TargetKinds are the prefixes a target may carry.
var TargetKinds = []string{"channel", "person", "team", "role", "schedule"}

// Set changes the incident's status, severity, fields or role holders.
type Set struct {
	Status   string            `json:"status,omitempty"`
	Severity string            `json:"severity,omitempty"`
	Fields   map[string]any    `json:"fields,omitempty"`
	Roles    map[string]string `json:"roles,omitempty"`
}

// Wait blocks until its condition holds or its signal arrives, or until its timeout.
type Wait struct {
	For       string    `json:"for,omitempty"`
	Signal    string    `json:"signal,omitempty"`
	Timeout   *Duration `json:"timeout,omitempty"`
	OnTimeout []Step    `json:"on_timeout,omitempty"`
}

// Sleep is a durable delay.
type Sleep struct {
	For Duration `json:"for"`
}
