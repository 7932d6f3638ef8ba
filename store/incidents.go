package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/incidentflow/incidentflow"
)

// ProcessVersion is one version of a process file, kept so every incident's
// process can be shown and restarted exactly as it was declared.
type ProcessVersion struct {
	Hash      string    `db:"hash"`
	Type      string    `db:"type"`
	File      string    `db:"file"`
	YAML      string    `db:"yaml"`
	Snapshot  []byte    `db:"snapshot"` // the compiled process as JSON
	FirstSeen time.Time `db:"first_seen"`
	// Viewers are a restricted process's viewers (kind:id); nil when it is
	// not restricted.
	Viewers []string `db:"-"`
}

// SaveProcessVersion records a process version unless its hash is known.
func (s *Store) SaveProcessVersion(ctx context.Context, v ProcessVersion) error {
	var viewers any
	if v.Viewers != nil {
		b, err := json.Marshal(v.Viewers)
		if err != nil {
			return fmt.Errorf("encode viewers: %w", err)
		}
		viewers = string(b)
	}
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO process_versions (hash, type, file, yaml, snapshot, first_seen, viewers)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (hash) DO NOTHING`), v.Hash, v.Type, v.File, v.YAML, string(v.Snapshot), s.now(), viewers)
	return wrap(err, "save process version")
}

// RestrictedProcess is a restricted process version and its viewers.
type RestrictedProcess struct {
	Hash    string
	Viewers []string // kind:id
}

// RestrictedProcesses lists the restricted process versions.
func (s *Store) RestrictedProcesses(ctx context.Context) ([]RestrictedProcess, error) {
	var rows []struct {
		Hash    string `db:"hash"`
		Viewers string `db:"viewers"`
	}
	if err := s.db.SelectContext(ctx, &rows, `SELECT hash, viewers FROM process_versions WHERE viewers IS NOT NULL`); err != nil {
		return nil, wrap(err, "list restricted processes")
	}
	out := make([]RestrictedProcess, len(rows))
	for i, r := range rows {
		out[i].Hash = r.Hash
		if err := json.Unmarshal([]byte(r.Viewers), &out[i].Viewers); err != nil {
			return nil, fmt.Errorf("decode viewers of %s: %w", r.Hash, err)
		}
	}
	return out, nil
}

// ProcessVersion returns the process version with the given hash.
func (s *Store) ProcessVersion(ctx context.Context, hash string) (ProcessVersion, error) {
	var v ProcessVersion
	var snapshot string
	row := s.db.QueryRowxContext(ctx, s.db.Rebind(`SELECT hash, type, file, yaml, snapshot, first_seen FROM process_versions WHERE hash = ?`), hash)
	if err := row.Scan(&v.Hash, &v.Type, &v.File, &v.YAML, &snapshot, &v.FirstSeen); errors.Is(err, sql.ErrNoRows) {
		return v, incidentflow.Errorf(incidentflow.ENOTFOUND, "no process version %s", hash)
	} else if err != nil {
		return v, wrap(err, "read process version")
	}
	v.Snapshot = []byte(snapshot)
	return v, nil
}

// incidentRow is an incident as stored, with its fields as JSON text.
type incidentRow struct {
	incidentflow.Incident
	FieldsJSON string `db:"fields"`
}

func (r incidentRow) incident() (incidentflow.Incident, error) {
	inc := r.Incident
	inc.DeclaredAt = inc.DeclaredAt.UTC()
	inc.UpdatedAt = inc.UpdatedAt.UTC()
	if err := json.Unmarshal([]byte(r.FieldsJSON), &inc.Fields); err != nil {
		return inc, fmt.Errorf("decode fields of %s: %w", inc.Ref, err)
	}
	return inc, nil
}

const incidentColumns = `ref, number, type, title, summary, severity, status, fields, process_hash, workflow_id,
	workflow_started_at, declared_by, declared_at, acknowledged_at, acknowledged_by, resolved_at, closed_at,
	updated_at, idempotency_key, request_hash, restricted`

// CreateIncident stores a newly declared incident, numbering it and deriving its
// ref and workflow ID. If inc carries an idempotency key that was used before,
// it returns the incident stored then and created=false.
func (s *Store) CreateIncident(ctx context.Context, inc incidentflow.Incident) (incidentflow.Incident, bool, error) {
	// Two concurrent declarations with the same idempotency key both miss it at
	// first; the loser of the insert retries and finds the winner's incident.
	for attempt := 0; ; attempt++ {
		var out incidentflow.Incident
		created := false
		err := s.inTx(ctx, func(tx *sqlx.Tx) error {
			if inc.IdempotencyKey != nil {
				existing, err := s.incidentWhere(ctx, tx, "idempotency_key = ?", *inc.IdempotencyKey)
				if err == nil {
					out = existing
					return nil
				} else if incidentflow.ErrorCode(err) != incidentflow.ENOTFOUND {
					return err
				}
			}
			var err error
			out, err = s.insertIncident(ctx, tx, inc)
			created = err == nil
			return err
		})
		if err == nil {
			return out, created, nil
		}
		if !isUniqueViolation(err) || attempt >= 3 {
			return inc, false, wrap(err, "create incident")
		}
	}
}

// insertIncident numbers a new incident, derives its ref and workflow ID,
// and inserts it.
func (s *Store) insertIncident(ctx context.Context, tx *sqlx.Tx, inc incidentflow.Incident) (incidentflow.Incident, error) {
	fields := []byte("{}")
	if inc.Fields != nil {
		var err error
		if fields, err = json.Marshal(inc.Fields); err != nil {
			return inc, fmt.Errorf("encode fields: %w", err)
		}
	}
	if err := tx.GetContext(ctx, &inc.Number, `UPDATE counters SET value = value + 1 WHERE name = 'incident' RETURNING value`); err != nil {
		return inc, err
	}
	var err error
	if inc.Ref, err = s.newRef(ctx, tx, inc.Restricted); err != nil {
		return inc, err
	}
	inc.WorkflowID = incidentflow.WorkflowID(inc.Ref)
	inc.DeclaredAt = inc.DeclaredAt.UTC()
	inc.UpdatedAt = inc.DeclaredAt
	_, err = tx.ExecContext(ctx, tx.Rebind(`INSERT INTO incidents (ref, number, type, title, summary, severity, status,
		fields, process_hash, workflow_id, declared_by, declared_at, updated_at, idempotency_key, request_hash, restricted)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		inc.Ref, inc.Number, inc.Type, inc.Title, inc.Summary, inc.Severity, inc.Status, string(fields),
		inc.ProcessHash, inc.WorkflowID, inc.DeclaredBy, inc.DeclaredAt, inc.UpdatedAt, inc.IdempotencyKey, inc.RequestHash, inc.Restricted)
	return inc, err
}

// newRef is the ref of a new incident. Refs of incidents anyone may see
// are numbered in order (INC-42) from a counter of their own; a restricted
// incident's is random (INC-K7QM2X), so that no ref anyone sees, and no gap
// between two, counts the restricted incidents they may not see. Another
// incident's random ref, by the odd chance, fails the insert, which is
// retried.
func (s *Store) newRef(ctx context.Context, tx *sqlx.Tx, restricted bool) (string, error) {
	if restricted {
		return incidentflow.RandomRef(), nil
	}
	var n int64
	err := tx.GetContext(ctx, &n, `UPDATE counters SET value = value + 1 WHERE name = 'ref' RETURNING value`)
	return fmt.Sprintf("INC-%d", n), err
}

// MarkWorkflowStarted records that the incident's run exists.
func (s *Store) MarkWorkflowStarted(ctx context.Context, ref string) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE incidents SET workflow_started_at = ? WHERE ref = ? AND workflow_started_at IS NULL`), s.now(), ref)
	return wrap(err, "mark workflow started")
}

// UnstartedIncidents lists incidents declared before the given instant whose run
// was never confirmed started, oldest first.
func (s *Store) UnstartedIncidents(ctx context.Context, declaredBefore time.Time, limit int) ([]incidentflow.Incident, error) {
	return s.incidentsWhere(ctx, s.db, "workflow_started_at IS NULL AND declared_at < ? ORDER BY declared_at LIMIT ?", declaredBefore.UTC(), limit)
}

// Incident returns the incident with the given ref, or ENOTFOUND.
func (s *Store) Incident(ctx context.Context, ref string) (incidentflow.Incident, error) {
	return s.incidentWhere(ctx, s.db, "ref = ?", ref)
}

// ListFilter narrows and pages a list of incidents. Incidents come newest
// first; After is the number of the last incident of the previous page.
type ListFilter struct {
	Type, Status, Severity string
	// State is "open" (neither closed nor declined), "closed" (either), or
	// "" for both.
	State string
	// Query keeps the incidents with this ref, or with it in their title
	// (in any case).
	Query string
	// Involved keeps the incidents the person declared, holds or held a
	// role in, or was paged or told about.
	Involved string
	After    int64
	Limit    int
	// Visibility keeps what its principal may see (nil: everything).
	Visibility *Visibility
}

// ListIncidents returns the incidents matching f, newest first.
func (s *Store) ListIncidents(ctx context.Context, f ListFilter) ([]incidentflow.Incident, error) {
	where, args := "1 = 1", []any{}
	for col, v := range map[string]string{"type": f.Type, "status": f.Status, "severity": f.Severity} {
		if v != "" {
			where += " AND " + col + " = ?"
			args = append(args, v)
		}
	}
	switch f.State {
	case "open":
		where += " AND status NOT IN ('closed', 'declined')"
	case "closed":
		where += " AND status IN ('closed', 'declined')"
	}
	if f.Query != "" {
		where += ` AND (ref = ? OR LOWER(title) LIKE ? ESCAPE '\')`
		like := strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(strings.ToLower(f.Query))
		args = append(args, strings.ToUpper(f.Query), "%"+like+"%")
	}
	if f.Involved != "" {
		where += " AND (declared_by = ? OR ref IN (SELECT incident_ref FROM incident_roles WHERE person = ?)" +
			" OR ref IN (SELECT incident_ref FROM deliveries WHERE recipient = ? AND status = 'sent'))"
		args = append(args, f.Involved, f.Involved, "person:"+f.Involved)
	}
	if f.After > 0 {
		where += " AND number < ?"
		args = append(args, f.After)
	}
	cond, vargs := visibleWhere("incidents", f.Visibility)
	where += " AND " + cond
	args = append(args, vargs...)
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	return s.incidentsWhere(ctx, s.db, where+" ORDER BY number DESC LIMIT ?", append(args, limit)...)
}

func (s *Store) incidentWhere(ctx context.Context, q sqlx.QueryerContext, where string, args ...any) (incidentflow.Incident, error) {
	list, err := s.incidentsWhere(ctx, q, where, args...)
	if err != nil {
		return incidentflow.Incident{}, err
	}
	if len(list) == 0 {
		return incidentflow.Incident{}, incidentflow.Errorf(incidentflow.ENOTFOUND, "no such incident")
	}
	return list[0], nil
}

func (s *Store) incidentsWhere(ctx context.Context, q sqlx.QueryerContext, where string, args ...any) ([]incidentflow.Incident, error) {
	var rows []incidentRow
	if err := sqlx.SelectContext(ctx, q, &rows, s.db.Rebind(`SELECT `+incidentColumns+` FROM incidents WHERE `+where), args...); err != nil {
		return nil, wrap(err, "read incidents")
	}
	out := make([]incidentflow.Incident, 0, len(rows))
	for _, r := range rows {
		inc, err := r.incident()
		if err != nil {
			return nil, err
		}
		out = append(out, inc)
	}
	return out, nil
}

// ApplyChange writes what the workflow reports: the incident's new state (only
// the parts set in c) and its timeline events, in one transaction. Events carry
// dedup keys, so applying the same change twice adds nothing.
func (s *Store) ApplyChange(ctx context.Context, c incidentflow.Change) error {
	return wrap(s.inTx(ctx, func(tx *sqlx.Tx) error {
		set, args := "updated_at = ?", []any{c.At.UTC()}
		if c.Status != "" {
			set += ", status = ?"
			args = append(args, c.Status)
			switch c.Status {
			case "resolved":
				set += ", resolved_at = COALESCE(resolved_at, ?)"
				args = append(args, c.At.UTC())
			case "closed", "declined":
				set += ", closed_at = COALESCE(closed_at, ?)"
				args = append(args, c.At.UTC())
			}
		}
		if c.Severity != "" {
			set += ", severity = ?"
			args = append(args, c.Severity)
		}
		if c.Fields != nil {
			b, err := json.Marshal(c.Fields)
			if err != nil {
				return fmt.Errorf("encode fields: %w", err)
			}
			set += ", fields = ?"
			args = append(args, string(b))
		}
		if c.AcknowledgedAt != nil {
			set += ", acknowledged_at = COALESCE(acknowledged_at, ?), acknowledged_by = CASE WHEN acknowledged_at IS NULL THEN ? ELSE acknowledged_by END"
			args = append(args, c.AcknowledgedAt.UTC(), c.AcknowledgedBy)
		}
		res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE incidents SET `+set+` WHERE ref = ?`), append(args, c.Ref)...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return incidentflow.Errorf(incidentflow.ENOTFOUND, "no incident %s", c.Ref)
		}
		for _, e := range c.Events {
			if err := s.insertEvent(ctx, tx, c.Ref, e); err != nil {
				return err
			}
		}
		for _, t := range c.Tasks {
			if err := s.upsertTask(ctx, tx, c.Ref, t); err != nil {
				return err
			}
		}
		for _, d := range c.Deadlines {
			if err := s.upsertDeadline(ctx, tx, c.Ref, d); err != nil {
				return err
			}
		}
		for _, a := range c.Roles {
			if err := s.insertRole(ctx, tx, c.Ref, a); err != nil {
				return err
			}
		}
		if c.State != nil {
			if err := writeRunState(ctx, tx, c.Ref, c.StateVersion, c.At, c.State); err != nil {
				return err
			}
		}
		return nil
	}), "apply change to "+c.Ref)
}

// RunState is a state a run published: incident Ref's, numbered Version.
type RunState struct {
	Ref     string
	Version int64
	At      time.Time
	State   json.RawMessage
}

// WriteRunStates keeps states runs published, in one transaction, each
// unless the store has a newer one of its run.
func (s *Store) WriteRunStates(ctx context.Context, states []RunState) error {
	return wrap(s.inTx(ctx, func(tx *sqlx.Tx) error {
		for _, st := range states {
			if err := writeRunState(ctx, tx, st.Ref, st.Version, st.At, st.State); err != nil {
				return err
			}
		}
		return nil
	}), fmt.Sprintf("write %d runs' states", len(states)))
}

// writeRunState keeps the state unless the store has a newer one; a state
// of no incident it has (a simulation's, say) is not kept.
func writeRunState(ctx context.Context, tx *sqlx.Tx, ref string, version int64, at time.Time, state json.RawMessage) error {
	_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO run_states (incident_ref, version, state, written_at)
		SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM incidents WHERE ref = ?)
		ON CONFLICT (incident_ref) DO UPDATE SET version = excluded.version, state = excluded.state, written_at = excluded.written_at
		WHERE run_states.version < excluded.version`), ref, version, string(state), at.UTC(), ref)
	return err
}

// RunState is what the run of incident ref last reported of its state, as
// JSON, and when; nil when it has reported none yet.
func (s *Store) RunState(ctx context.Context, ref string) (json.RawMessage, time.Time, error) {
	var row struct {
		State     string    `db:"state"`
		WrittenAt time.Time `db:"written_at"`
	}
	err := s.db.GetContext(ctx, &row, s.db.Rebind(`SELECT state, written_at FROM run_states WHERE incident_ref = ?`), ref)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, time.Time{}, nil
	}
	if err != nil {
		return nil, time.Time{}, wrap(err, "read the state of "+ref)
	}
	return json.RawMessage(row.State), row.WrittenAt.UTC(), nil
}

func (s *Store) upsertTask(ctx context.Context, tx *sqlx.Tx, ref string, t incidentflow.Task) error {
	_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO tasks (id, incident_ref, step, title, description, owner, due_at, status, done_by, done_at, note, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET status = excluded.status, done_by = excluded.done_by, done_at = excluded.done_at, note = excluded.note, owner = excluded.owner`),
		t.ID, ref, t.Step, t.Title, t.Description, t.Owner, utcPtr(t.DueAt), t.Status, t.DoneBy, utcPtr(t.DoneAt), t.Note, t.CreatedAt.UTC())
	return err
}

func utcPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC()
}

func (s *Store) upsertDeadline(ctx context.Context, tx *sqlx.Tx, ref string, d incidentflow.Deadline) error {
	_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO deadlines (id, incident_ref, step, title, start_at, due_at, status, done_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET status = excluded.status, done_at = excluded.done_at, start_at = excluded.start_at, due_at = excluded.due_at`),
		d.ID, ref, d.Step, d.Title, d.StartAt.UTC(), d.DueAt.UTC(), d.Status, utcPtr(d.DoneAt))
	return err
}

// DeadlineFilter narrows a list of deadlines across incidents.
type DeadlineFilter struct {
	// DueBefore keeps deadlines due before it (zero: all).
	DueBefore time.Time
	// Statuses keeps deadlines in one of these statuses (empty: all).
	Statuses []string
	// Refs keeps the deadlines of these incidents (empty: of all).
	Refs  []string
	Limit int
	// Visibility keeps the deadlines of incidents its principal may see.
	Visibility *Visibility
}

// Deadlines lists deadlines across incidents, soonest due first.
func (s *Store) Deadlines(ctx context.Context, f DeadlineFilter) ([]incidentflow.Deadline, error) {
	where, args := "1 = 1", []any{}
	if !f.DueBefore.IsZero() {
		where += " AND d.due_at < ?"
		args = append(args, f.DueBefore.UTC())
	}
	if len(f.Statuses) > 0 {
		where += " AND d.status IN (?" + strings.Repeat(", ?", len(f.Statuses)-1) + ")"
		for _, st := range f.Statuses {
			args = append(args, st)
		}
	}
	if len(f.Refs) > 0 {
		where += " AND d.incident_ref IN (?" + strings.Repeat(", ?", len(f.Refs)-1) + ")"
		for _, ref := range f.Refs {
			args = append(args, ref)
		}
	}
	cond, vargs := visibleWhere("i", f.Visibility)
	where += " AND " + cond
	args = append(args, vargs...)
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	out := []incidentflow.Deadline{}
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT d.id, d.incident_ref, d.step, d.title, d.start_at, d.due_at, d.status, d.done_at,
		i.type, i.severity, i.title AS incident_title
		FROM deadlines d JOIN incidents i ON i.ref = d.incident_ref WHERE `+where+` ORDER BY d.due_at, d.id LIMIT ?`), append(args, limit)...)
	for i := range out {
		out[i].StartAt, out[i].DueAt = out[i].StartAt.UTC(), out[i].DueAt.UTC()
	}
	return out, wrap(err, "list deadlines")
}

const taskColumns = `id, incident_ref, step, title, description, owner, due_at, status, done_by, done_at, note, created_at`

// Tasks returns an incident's follow-ups in the order they were created.
func (s *Store) Tasks(ctx context.Context, ref string) ([]incidentflow.Task, error) {
	if _, err := s.Incident(ctx, ref); err != nil {
		return nil, err
	}
	out := []incidentflow.Task{}
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT `+taskColumns+` FROM tasks WHERE incident_ref = ? ORDER BY created_at, id`), ref)
	return out, wrap(err, "read tasks")
}

// CompleteTask marks an open task done, as t says, with its timeline event,
// in one transaction; a task done already (a concurrent completion) is
// ECONFLICT, and nothing changes.
func (s *Store) CompleteTask(ctx context.Context, t incidentflow.Task, e incidentflow.TimelineEvent) error {
	return wrap(s.inTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE tasks SET status = 'done', done_by = ?, done_at = ?, note = ? WHERE id = ? AND status = 'open'`),
			t.DoneBy, utcPtr(t.DoneAt), t.Note, t.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return incidentflow.Errorf(incidentflow.ECONFLICT, "task %s was already done", t.ID)
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE incidents SET updated_at = ? WHERE ref = ?`), e.At.UTC(), t.Ref); err != nil {
			return err
		}
		return s.insertEvent(ctx, tx, t.Ref, e)
	}), "complete task "+t.ID)
}

// Task returns the task with the given id, or ENOTFOUND.
func (s *Store) Task(ctx context.Context, id string) (incidentflow.Task, error) {
	var t incidentflow.Task
	err := s.db.GetContext(ctx, &t, s.db.Rebind(`SELECT `+taskColumns+` FROM tasks WHERE id = ?`), id)
	if errors.Is(err, sql.ErrNoRows) {
		return t, incidentflow.Errorf(incidentflow.ENOTFOUND, "no task %s", id)
	}
	return t, wrap(err, "read task")
}

func (s *Store) insertEvent(ctx context.Context, tx *sqlx.Tx, ref string, e incidentflow.TimelineEvent) error {
	return s.writeEvent(ctx, tx, ref, e, false)
}

// writeEvent writes e. The same event written again is the same row, as
// the later write has it: a workflow task that Temporal did not keep may
// have written it first (its local activity runs before the task
// completes), from updates taken in another order, and the task kept comes
// after. What an update's answer settled (see SettleEvents) stands, and an
// event of a withdrawn update is not written.
func (s *Store) writeEvent(ctx context.Context, tx *sqlx.Tx, ref string, e incidentflow.TimelineEvent, settled bool) error {
	var data any
	if e.Data != nil {
		b, err := json.Marshal(e.Data)
		if err != nil {
			return fmt.Errorf("encode event data: %w", err)
		}
		data = string(b)
	}
	guard := "NOT timeline_events.settled"
	if settled {
		guard = "TRUE"
	}
	_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO timeline_events (incident_ref, at, kind, step, actor, message, data, dedup_key, seq, settled)
		SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM timeline_events WHERE dedup_key = ? AND kind = ?)
		ON CONFLICT (dedup_key) DO UPDATE SET at = excluded.at, kind = excluded.kind,
		step = excluded.step, actor = excluded.actor, message = excluded.message, data = excluded.data, seq = excluded.seq,
		settled = excluded.settled WHERE `+guard),
		ref, e.At.UTC(), e.Kind, e.Step, e.Actor, e.Message, data, e.DedupKey, e.Seq, settled, updatePrefix(e.DedupKey), withdrawnKind)
	return err
}

// withdrawnKind marks the row that stands for a refused update's events.
const withdrawnKind = "withdrawn"

// updatePrefix is the part of an update's event key that names the update
// (the key without its count); "" for an event no update made.
func updatePrefix(key string) string {
	if !strings.Contains(key, "/update/") {
		return ""
	}
	return key[:strings.LastIndex(key, "/")+1]
}

// SettleEvents writes an update's events as its answer gives them: the
// answer comes only from a workflow task Temporal kept. What else stands
// under the update's name (rows a task not kept made, a withdrawal of an
// earlier refusal of the same update) goes.
func (s *Store) SettleEvents(ctx context.Context, ref string, events []incidentflow.TimelineEvent) error {
	return wrap(s.inTx(ctx, func(tx *sqlx.Tx) error {
		cleared := map[string]bool{}
		var gone int64
		var had []string
		for _, e := range events {
			prefix := updatePrefix(e.DedupKey)
			if prefix == "" { // only an update's own events are settled
				continue
			}
			if !cleared[prefix] {
				cleared[prefix] = true
				// What the page shows: the update's rows before they go.
				var rows []string
				if err := tx.SelectContext(ctx, &rows, tx.Rebind(`SELECT dedup_key || '|' || message || '|' || CAST(seq AS TEXT) FROM timeline_events
					WHERE incident_ref = ? AND substr(dedup_key, 1, ?) = ? AND substr(dedup_key, ?) NOT LIKE '%/%' AND kind <> ?`),
					ref, utf8.RuneCountInString(prefix), prefix, utf8.RuneCountInString(prefix)+1, withdrawnKind); err != nil {
					return err
				}
				had = append(had, rows...)
				n, err := s.clearUpdate(ctx, tx, ref, prefix, "NOT settled OR kind = ?")
				if err != nil {
					return err
				}
				gone += n
			}
			if err := s.writeEvent(ctx, tx, ref, e, true); err != nil {
				return err
			}
		}
		// The page is out of date when the settled rows are not what it
		// showed (a task not kept wrote them otherwise, or more of them).
		var now []string
		for _, e := range events {
			if updatePrefix(e.DedupKey) != "" {
				now = append(now, e.DedupKey+"|"+e.Message+"|"+strconv.FormatInt(e.Seq, 10))
			}
		}
		sort.Strings(had)
		sort.Strings(now)
		if gone > 0 && !slices.Equal(had, now) {
			return s.touch(ctx, tx, ref)
		}
		return nil
	}), "settle the events of "+ref)
}

// WithdrawUpdate removes the events a refused update seemed to make (a
// workflow task Temporal did not keep took it), and keeps them from being
// written again, until the update is taken after all (SettleEvents). What
// its answer settled stays. prefix is the update's event key without its
// count.
func (s *Store) WithdrawUpdate(ctx context.Context, ref, prefix string) error {
	if updatePrefix(prefix+"0") != prefix {
		return fmt.Errorf("%q does not name an update's events", prefix)
	}
	return wrap(s.inTx(ctx, func(tx *sqlx.Tx) error {
		n, err := s.clearUpdate(ctx, tx, ref, prefix, "NOT settled AND kind <> ?")
		if err != nil || n == 0 {
			// Most refusals made nothing anywhere: they leave no trace.
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO timeline_events (incident_ref, at, kind, step, actor, message, dedup_key, seq, settled)
			VALUES (?, ?, ?, '', '', '', ?, 0, TRUE) ON CONFLICT (dedup_key) DO NOTHING`), ref, s.now(), withdrawnKind, prefix); err != nil {
			return err
		}
		return s.touch(ctx, tx, ref)
	}), "withdraw an update's events from "+ref)
}

// clearUpdate deletes the rows that are the update's own events (its
// prefix and a count: not the events of what it started, whose keys go on
// after the count) and match cond, given withdrawnKind as its argument,
// and says how many went.
func (s *Store) clearUpdate(ctx context.Context, tx *sqlx.Tx, ref, prefix, cond string) (int64, error) {
	res, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM timeline_events WHERE incident_ref = ?
		AND substr(dedup_key, 1, ?) = ? AND substr(dedup_key, ?) NOT LIKE '%/%' AND (`+cond+`)`),
		ref, utf8.RuneCountInString(prefix), prefix, utf8.RuneCountInString(prefix)+1, withdrawnKind)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// touch marks the incident's record as moved, so that pages showing it
// look again (see Version): its timeline changed in place.
func (s *Store) touch(ctx context.Context, tx *sqlx.Tx, ref string) error {
	_, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE incidents SET updated_at = ? WHERE ref = ?`), s.now(), ref)
	return err
}

// Timeline returns an incident's events in the order they happened.
func (s *Store) Timeline(ctx context.Context, ref string) ([]incidentflow.TimelineEvent, error) {
	if _, err := s.Incident(ctx, ref); err != nil {
		return nil, err
	}
	type eventRow struct {
		incidentflow.TimelineEvent
		DataJSON *string `db:"data"`
	}
	var rows []eventRow
	err := s.db.SelectContext(ctx, &rows, s.db.Rebind(`SELECT id, incident_ref, at, kind, step, actor, message, data, dedup_key
		FROM timeline_events WHERE incident_ref = ? AND kind <> ? ORDER BY at, seq, id`), ref, withdrawnKind)
	if err != nil {
		return nil, wrap(err, "read timeline")
	}
	out := make([]incidentflow.TimelineEvent, len(rows))
	for i, r := range rows {
		out[i] = r.TimelineEvent
		out[i].At = out[i].At.UTC()
		if r.DataJSON != nil {
			if err := json.Unmarshal([]byte(*r.DataJSON), &out[i].Data); err != nil {
				return nil, fmt.Errorf("decode event data: %w", err)
			}
		}
	}
	return out, nil
}
