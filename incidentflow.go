// Package incidentflow holds the domain types every layer shares — incidents,
// timeline events, deliveries — and the one error type whose code the API maps to
// HTTP and the worker maps to Temporal. It imports no other incidentflow package.
package incidentflow

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Error codes, mapped to HTTP statuses in api and to retryability in activities.
const (
	EBADREQUEST   = "bad_request"  // the request cannot be read (malformed JSON, wrong content)
	EINVALID      = "invalid"      // the request is readable but breaks a rule
	ENOTFOUND     = "not_found"    // no such incident, process, task…
	ECONFLICT     = "conflict"     // the request is valid but refused in the current state
	EUNAVAILABLE  = "unavailable"  // a dependency (database, Temporal) cannot be reached; retry later
	EINTERNAL     = "internal"     // a bug; the details are logged, never shown
	EUNAUTHORIZED = "unauthorized" // no valid credentials
	EFORBIDDEN    = "forbidden"    // valid credentials without the scope needed
	EPERMANENT    = "permanent"    // a delivery that retrying cannot fix (a 4xx, a bad address)
	EBUSY         = "busy"         // too many requests at once for one thing; retry shortly
)

// Error is an error with a code and a message fit to show the caller.
type Error struct {
	Code    string
	Message string
	// Details name the offending parts of a request (field, problem), if any.
	Details []Detail
	// Err is the underlying cause, for logs only.
	Err error
}

// Detail is one specific problem with a request.
type Detail struct {
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of the first *Error in err's chain, or a
// generic one that leaks nothing for any other error.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// Incident is the stored record of one declared incident. The live picture
// (active steps, pending waits) is the workflow's; the record is what lists and
// reports read.
type Incident struct {
	Ref            string         `json:"ref" db:"ref"`
	Number         int64          `json:"-" db:"number"` // the order of declarations, never shown: it would count the restricted ones
	Type           string         `json:"type" db:"type"`
	Title          string         `json:"title" db:"title"`
	Summary        string         `json:"summary,omitempty" db:"summary"`
	Severity       string         `json:"severity" db:"severity"`
	Status         string         `json:"status" db:"status"`
	Fields         map[string]any `json:"fields" db:"-"`
	ProcessHash    string         `json:"process_hash" db:"process_hash"`
	WorkflowID     string         `json:"workflow_id" db:"workflow_id"`
	DeclaredBy     string         `json:"declared_by,omitempty" db:"declared_by"`
	DeclaredAt     time.Time      `json:"declared_at" db:"declared_at"`
	AcknowledgedAt *time.Time     `json:"acknowledged_at,omitempty" db:"acknowledged_at"`
	AcknowledgedBy string         `json:"acknowledged_by,omitempty" db:"acknowledged_by"`
	ResolvedAt     *time.Time     `json:"resolved_at,omitempty" db:"resolved_at"`
	ClosedAt       *time.Time     `json:"closed_at,omitempty" db:"closed_at"`
	UpdatedAt      time.Time      `json:"updated_at" db:"updated_at"`
	// WorkflowStartedAt is when the run was confirmed started; nil means the
	// reconciler still has to start it.
	WorkflowStartedAt *time.Time `json:"-" db:"workflow_started_at"`
	IdempotencyKey    *string    `json:"-" db:"idempotency_key"`
	// RequestHash identifies what was declared with the idempotency key, so
	// the key cannot declare something else.
	RequestHash string `json:"-" db:"request_hash"`
	// Restricted says the incident's process shows it only to its viewers.
	Restricted bool `json:"restricted,omitempty" db:"restricted"`
}

// RestrictedType stands for the type (and severity) of a restricted
// incident where what is shown needs no token, such as metrics' labels.
const RestrictedType = "restricted"

// RoleAssignment is a person taking a role on an incident, and who gave it.
type RoleAssignment struct {
	Role     string    `json:"role"`
	Person   string    `json:"person"`
	By       string    `json:"by"`
	At       time.Time `json:"at"`
	DedupKey string    `json:"dedup_key"`
}

// WorkflowID derives the Temporal workflow ID of an incident from its ref, so a
// start is idempotent.
func WorkflowID(ref string) string { return "incident-" + ref }

// UpdateEventPrefix begins the keys of the timeline events an update made
// on incident ref's run: the prefix, then the update's own count of them.
func UpdateEventPrefix(ref, updateID string) string {
	return WorkflowID(ref) + "/update/" + updateID + "/"
}

// TimelineEvent is one line of an incident's history as people read it.
type TimelineEvent struct {
	ID       int64          `json:"-" db:"id"` // numbered across all incidents: shown, it would count the restricted ones
	Ref      string         `json:"-" db:"incident_ref"`
	At       time.Time      `json:"at" db:"at"`
	Kind     string         `json:"kind" db:"kind"`
	Step     string         `json:"step,omitempty" db:"step"`
	Actor    string         `json:"actor,omitempty" db:"actor"`
	Message  string         `json:"message" db:"message"`
	Data     map[string]any `json:"data,omitempty" db:"-"`
	DedupKey string         `json:"-" db:"dedup_key"`
	// Seq is the run's number for the event (0: an activity's): events of
	// one instant are listed in its order.
	Seq int64 `json:"-" db:"seq"`
}

// Task is a follow-up owned by someone, created by a task step and completed
// through the API. Its id is the incident's ref and a number: INC-7-T2.
type Task struct {
	ID          string     `json:"id" db:"id"`
	Ref         string     `json:"incident" db:"incident_ref"`
	Step        string     `json:"step,omitempty" db:"step"`
	Title       string     `json:"title" db:"title"`
	Description string     `json:"description,omitempty" db:"description"`
	Owner       string     `json:"owner,omitempty" db:"owner"`
	DueAt       *time.Time `json:"due_at,omitempty" db:"due_at"`
	Status      string     `json:"status" db:"status"` // open or done
	DoneBy      string     `json:"done_by,omitempty" db:"done_by"`
	DoneAt      *time.Time `json:"done_at,omitempty" db:"done_at"`
	Note        string     `json:"note,omitempty" db:"note"`
	CreatedAt   time.Time  `json:"created_at" db:"created_at"`
	// Role, when set, is the role whose holder owns the task: the task
	// follows it while open. The run keeps it; the store does not.
	Role string `json:"role,omitempty" db:"-"`
}

// Deadline is a clock of an incident as its run reports it: due at DueAt,
// open until met, or missed. Its id is the incident's ref and a number: INC-7-D1.
type Deadline struct {
	ID      string     `json:"id" db:"id"`
	Ref     string     `json:"incident" db:"incident_ref"`
	Step    string     `json:"step,omitempty" db:"step"`
	Title   string     `json:"title" db:"title"`
	StartAt time.Time  `json:"start_at" db:"start_at"`
	DueAt   time.Time  `json:"due_at" db:"due_at"`
	Status  string     `json:"status" db:"status"` // open, met, missed, met_late
	DoneAt  *time.Time `json:"done_at,omitempty" db:"done_at"`
	// Of the incident, for lists across incidents.
	Type     string `json:"type,omitempty" db:"type"`
	Severity string `json:"severity,omitempty" db:"severity"`
	Incident string `json:"incident_title,omitempty" db:"incident_title"`
}

// Access roles: what a principal may do.
const (
	RoleViewer    = "viewer"    // reads the incidents it may see
	RoleResponder = "responder" // reads, declares and acts on the incidents it may see
	RoleDeclarer  = "declarer"  // declares incidents and sends alerts, and reads nothing (services)
	RoleAdmin     = "admin"     // everything: every incident, tokens, the audit log, processes
)

// AccessRoles lists the roles a principal may hold, least first.
var AccessRoles = []string{RoleViewer, RoleDeclarer, RoleResponder, RoleAdmin}

// Permissions a request needs.
const (
	PermRead    = "read"    // read incidents, deadlines, processes
	PermDeclare = "declare" // declare incidents, send alerts
	PermRespond = "respond" // acknowledge, change, signal, note, approve, complete, review
	PermAdmin   = "admin"   // tokens, the audit log, validating processes, every incident
)

// RoleAllows reports whether an access role grants a permission.
func RoleAllows(role, perm string) bool {
	switch role {
	case RoleAdmin:
		return true
	case RoleResponder:
		return perm == PermRead || perm == PermDeclare || perm == PermRespond
	case RoleDeclarer:
		return perm == PermDeclare
	case RoleViewer:
		return perm == PermRead
	}
	return false
}

// CapRole is role, unless it allows something limit does not: then limit.
// A person's token never gives them more than the directory does.
func CapRole(role, limit string) string {
	for _, perm := range []string{PermRead, PermDeclare, PermRespond, PermAdmin} {
		if RoleAllows(role, perm) && !RoleAllows(limit, perm) {
			return limit
		}
	}
	return role
}

// Kinds of principal.
const (
	PersonPrincipal  = "person"  // a person of the directory
	ServicePrincipal = "service" // a named service: Alertmanager, a chat bot
)

// Principal is who acts: a person of the directory or a named service.
// Every change and every timeline event records the principal that made it.
type Principal struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
	// Name is what people read: a person's name, a service's id.
	Name string `json:"name,omitempty"`
	Role string `json:"role"`
}

// String names the principal as the timeline does: a person by their id, a
// service as service:ID.
func (p Principal) String() string {
	if p.Kind == ServicePrincipal {
		return "service:" + p.ID
	}
	return p.ID
}

// Allows reports whether the principal's role grants a permission.
func (p Principal) Allows(perm string) bool { return RoleAllows(p.Role, perm) }

// IsPerson reports whether the principal is a person of the directory.
func (p Principal) IsPerson() bool { return p.Kind == PersonPrincipal }

// Token is an API token as stored: its secret is only ever kept as a hash.
// It acts as its principal, with its role.
type Token struct {
	ID        string     `json:"id" db:"id"`
	Name      string     `json:"name" db:"name"`
	Kind      string     `json:"principal_kind" db:"principal_kind"`
	Principal string     `json:"principal" db:"principal_id"`
	Role      string     `json:"role" db:"role"`
	CreatedAt time.Time  `json:"created_at" db:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty" db:"revoked_at"`
}

// Change is what the workflow tells the store when the incident's state moves:
// the new values and the timeline events that explain them, written together.
type Change struct {
	Ref string
	// Type and DeclaredAt describe the incident for metrics (time to
	// acknowledge and to resolve, by type and severity).
	Type           string    `json:",omitempty"`
	DeclaredAt     time.Time `json:",omitzero"`
	Status         string
	Severity       string
	Fields         map[string]any
	AcknowledgedAt *time.Time
	AcknowledgedBy string
	At             time.Time
	Events         []TimelineEvent
	// Tasks and Deadlines are written as they now stand (inserted or updated).
	Tasks     []Task
	Deadlines []Deadline
	// Roles are the role assignments made.
	Roles []RoleAssignment `json:",omitempty"`
	// State is the run's whole state as it stands when the change is
	// written, as JSON, and StateVersion its number: the store keeps the
	// newest, so that reads never wait on the worker.
	State        json.RawMessage `json:",omitempty"`
	StateVersion int64           `json:",omitempty"`
}
