package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/api"
	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/store"
	"github.com/incidentflow/incidentflow/workflows"
)

// incidentPage is everything the incident page shows.
type incidentPage struct {
	Incident incidentflow.Incident
	Process  *dsl.Process
	// State is the run's live picture; StateProblem says why it is
	// missing, and the page then shows the stored record.
	State        *workflows.State
	StateProblem string
	Roles        []holder
	Fields       []shownField
	// EditFields are the fields in the form that changes them, holding
	// the values shown.
	EditFields   []formField
	Acknowledged *workflows.Acknowledgement
	Approvals    []approval
	// Approved are the approvals given, as the timeline tells them.
	Approved  []incidentflow.TimelineEvent
	Deadlines []incidentflow.Deadline
	Tasks     []incidentflow.Task
	Timeline  []incidentflow.TimelineEvent
	People    []dsl.Person
	Statuses  []string
	// CanAct says the reader may act (responders and admins); Once makes
	// each form's action happen once however often it is sent.
	CanAct bool
	Once   string
	Me     string
	RunURL string
	Final  bool
}

// editFields are the incident's fields as the form that changes them
// holds them: the values they have now.
func editFields(p *dsl.Process, values map[string]any, c clock) []formField {
	out := make([]formField, 0, len(p.Fields))
	for _, def := range p.Fields {
		f := formField{FieldDef: def, Input: inputType(def.Type), Zone: c.Zone()}
		if v, ok := values[def.Name]; ok && v != nil {
			f.Value, f.Checked = formValue(def, v, c)
		}
		out = append(out, f)
	}
	return out
}

// changedFields reads the form that changes fields: each field whose input
// holds other than what the form showed (shown.NAME), in its type, and
// null for one emptied. Fields left as shown are not sent, so a form
// opened before someone else's change does not undo it.
func (s *Server) changedFields(ctx context.Context, sess session, ref string, form url.Values) (map[string]any, error) {
	inc, err := s.cfg.App.Incident(ctx, sess.who, ref)
	if err != nil {
		return nil, err
	}
	p, err := s.cfg.App.ProcessOf(ctx, inc)
	if err != nil {
		return nil, err
	}
	c := s.clock(&sess.who)
	lines := strings.NewReplacer("\r\n", "\n") // a browser sends a textarea's lines ending in CR LF
	out := map[string]any{}
	for _, def := range p.Fields {
		shown, ok := form["shown."+def.Name]
		if !ok || lines.Replace(form.Get("field."+def.Name)) == lines.Replace(strings.Join(shown, "")) {
			continue
		}
		if v, given := fieldValue(def, form, c); given {
			out[def.Name] = v
		} else {
			out[def.Name] = nil
		}
	}
	if len(out) == 0 {
		return nil, incidentflow.Errorf(incidentflow.EINVALID, "nothing to change: every field holds what it held; change a value first")
	}
	return out, nil
}

// shownField is a field of the incident as people read it.
type shownField struct {
	Name, Value string
}

// showFields writes the incident's fields in the process's order, as
// people read them.
func showFields(p *dsl.Process, values map[string]any, c clock) []shownField {
	var out []shownField
	for _, def := range p.Fields {
		v, ok := values[def.Name]
		if !ok || v == nil {
			continue
		}
		text, checked := formValue(def, v, c)
		switch def.Type {
		case "bool":
			text = map[bool]string{true: "yes", false: "no"}[checked]
		case "list":
			text = strings.ReplaceAll(text, "\n", ", ")
		case "time":
			if t, err := time.Parse(time.RFC3339, fmt.Sprint(v)); err == nil {
				text = c.When(t)
			}
		}
		out = append(out, shownField{Name: def.Name, Value: text})
	}
	return out
}

// holder is who holds a role of the incident.
type holder struct {
	Role   string
	Person string
	Name   string
}

// approval is an approval the run waits for, and whether the reader may give it.
type approval struct {
	workflows.PendingApproval
	Holder string
	Mine   bool
}

// loadIncident gathers the incident page of ref for the reader.
func (s *Server) loadIncident(ctx context.Context, sess session, ref string) (incidentPage, error) {
	who := sess.who
	app := s.cfg.App
	inc, err := app.Incident(ctx, who, ref)
	if err != nil {
		return incidentPage{}, err
	}
	ip := incidentPage{Incident: inc, Me: who.ID, RunURL: app.RunURL(inc), Statuses: dsl.Statuses, Final: dsl.IsFinalStatus(inc.Status),
		CanAct: who.Allows(incidentflow.PermRespond), Once: random(), People: app.Catalog().Directory.People}
	if ip.Process, err = app.ProcessOf(ctx, inc); err != nil {
		return ip, err
	}
	ip.Fields, ip.EditFields = showFields(ip.Process, inc.Fields, s.clock(&who)), editFields(ip.Process, inc.Fields, s.clock(&who))
	if ip.Timeline, err = app.Timeline(ctx, who, ref); err != nil {
		return ip, err
	}
	slices.Reverse(ip.Timeline)
	for _, e := range ip.Timeline {
		if e.Kind == "approved" {
			ip.Approved = append(ip.Approved, e)
		}
	}
	if ip.Tasks, err = app.Tasks(ctx, who, ref); err != nil {
		return ip, err
	}
	if ip.Deadlines, err = app.Deadlines(ctx, who, store.DeadlineFilter{Refs: []string{ref}}); err != nil {
		return ip, err
	}
	roles := map[string]string{}
	ip.State, _, err = app.State(ctx, inc)
	switch {
	case err == nil:
		st := ip.State
		roles, ip.Acknowledged = st.Roles, st.Acknowledged
		// The run is ahead of the record: show what it says now.
		ip.Incident.Status, ip.Incident.Severity = st.Status, st.Severity
		ip.Fields, ip.EditFields = showFields(ip.Process, st.Fields, s.clock(&who)), editFields(ip.Process, st.Fields, s.clock(&who))
		for _, p := range st.Approvals {
			if p.By != "" { // given: the timeline tells it, under Given
				continue
			}
			ap := approval{PendingApproval: *p, Holder: st.Roles[p.Role]}
			ap.Mine = ap.Holder == who.ID
			ip.Approvals = append(ip.Approvals, ap)
		}
	case incidentflow.ErrorCode(err) == incidentflow.EUNAVAILABLE:
		ip.StateProblem = incidentflow.ErrorMessage(err)
		if ip.Final {
			ip.StateProblem = "The run has ended: this is the incident as it was recorded."
		}
		if roles, err = app.Roles(ctx, who, ref); err != nil {
			return ip, err
		}
		if inc.AcknowledgedAt != nil {
			ip.Acknowledged = &workflows.Acknowledgement{By: inc.AcknowledgedBy, At: *inc.AcknowledgedAt}
		}
	default:
		return ip, err
	}
	ip.Final = dsl.IsFinalStatus(ip.Incident.Status)
	for _, r := range ip.Process.Roles {
		h := holder{Role: r, Person: roles[r]}
		if p, ok := app.Catalog().Directory.Person(h.Person); ok {
			h.Name = p.Name
		}
		ip.Roles = append(ip.Roles, h)
	}
	return ip, nil
}

// incident shows an incident: the live "now" panel, what the reader may
// do, clocks, tasks, approvals, reviews and the timeline. It streams its
// changes: the page's script refreshes its parts when they come.
func (s *Server) incident(w http.ResponseWriter, r *http.Request, sess session) {
	s.showIncident(w, r, sess, http.StatusOK, "")
}

func (s *Server) showIncident(w http.ResponseWriter, r *http.Request, sess session, status int, problem string) {
	ref := r.PathValue("ref")
	ip, err := s.loadIncident(r.Context(), sess, ref)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if ip.Incident.Restricted {
		s.audit(r, auditDone(sess, "web view", ref))
	}
	p := s.base(w, r, sess, ip.Incident.Ref+": "+ip.Incident.Title, "incidents")
	p.Problem, p.Data = problem, ip
	p.Stream = "/incidents/" + ref + "/stream"
	if p.Version, err = s.cfg.App.Version(r.Context(), sess.who, ref); err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, status, "incident.html", p)
}

// act carries out a form's action on an incident, as the signed-in
// person, through the API's actions: the same checks, the same audit.
func (s *Server) act(w http.ResponseWriter, r *http.Request, sess session) {
	ref, name := r.PathValue("ref"), r.PathValue("action")
	f := r.PostForm
	var a api.Action
	var done string
	switch name {
	case "acknowledge":
		a, done = &api.AcknowledgeRequest{}, "You acknowledged "+ref+"."
	case "status":
		a, done = &api.StatusRequest{Status: f.Get("status"), Note: f.Get("note")}, ref+" is now "+f.Get("status")+"."
	case "severity":
		a, done = &api.SeverityRequest{Severity: f.Get("severity"), Note: f.Get("note")}, ref+" is now "+f.Get("severity")+"."
	case "roles":
		a, done = &api.RoleRequest{Role: f.Get("role"), Person: f.Get("person")}, f.Get("person")+" is now the "+words(f.Get("role"))+" of "+ref+"."
	case "notes":
		a, done = &api.NoteRequest{Text: f.Get("text")}, "Your note is on the timeline."
	case "fields":
		fields, err := s.changedFields(r.Context(), sess, ref, f)
		if err != nil {
			s.refused(w, r, sess, name, ref, err)
			return
		}
		a, done = &api.FieldsRequest{Fields: fields, Note: f.Get("note")}, "The fields are changed."
	case "signals":
		a, done = &api.SignalRequest{Name: f.Get("name")}, "You sent "+f.Get("name")+"."
	case "approve":
		a, done = &api.ApprovalRequest{Step: f.Get("step"), Note: f.Get("note")}, "You approved "+firstOf(f.Get("step"), "what waited for you")+"."
	case "review":
		a, done = &api.ReviewHeldRequest{WriteUp: strings.TrimSpace(f.Get("write_up")), Note: f.Get("note"), Step: f.Get("step")}, "The review is marked held."
	case "reschedule":
		start, err := s.localTime(sess, f.Get("start"))
		if err != nil {
			s.refused(w, r, sess, name, ref, err)
			return
		}
		a, done = &api.RescheduleRequest{Start: start, Step: f.Get("step")}, "The review is moved; its attendees get the new time."
	default:
		s.notFound(w, r)
		return
	}
	err := s.checkAct(sess, a)
	if err == nil {
		_, err = s.cfg.App.Act(r.Context(), sess.who, ref, a, s.updateID(sess, r))
	}
	if err != nil {
		if name == "fields" {
			err = inFormWords(err)
		}
		s.refused(w, r, sess, name, ref, err)
		return
	}
	s.audit(r, auditDone(sess, "web "+name, ref))
	s.flash(w, done)
	http.Redirect(w, r, "/incidents/"+ref, http.StatusSeeOther)
}

// inFormWords says every problem of a refused change of fields, each
// field named as the form labels it, not as the API's body names it.
func inFormWords(err error) error {
	var e *incidentflow.Error
	if !errors.As(err, &e) || len(e.Details) == 0 {
		return err
	}
	said := make([]string, len(e.Details))
	for i, d := range e.Details {
		said[i] = dsl.FieldDef{Name: strings.TrimPrefix(d.Field, "fields.")}.Label() + " " + d.Message
	}
	out := *e
	out.Message = strings.Join(said, "; ")
	return &out
}

// checkAct refuses an action the reader may not take, or whose text
// breaks the API's limits.
func (s *Server) checkAct(sess session, a any) error {
	if !sess.who.Allows(incidentflow.PermRespond) {
		return incidentflow.Errorf(incidentflow.EFORBIDDEN, "%s is a %s: only responders act on incidents", sess.who.Name, sess.who.Role)
	}
	if details := incidentflow.CheckLimits(a); len(details) > 0 {
		return &incidentflow.Error{Code: incidentflow.EINVALID, Message: details[0].Field + " " + details[0].Message, Details: details}
	}
	return nil
}

// updateID makes a form's action happen once however often the same form
// is sent: the person's id, the form's nonce, and a hash of what the form
// asks (its path and fields), so that the same form sent again with other
// words (a second note from a page that kept its nonce) is another action.
func (s *Server) updateID(sess session, r *http.Request) string {
	once := r.PostForm.Get("once")
	if once == "" || incidentflow.CheckString(once, true, 64) != "" {
		return ""
	}
	h := sha256.New()
	_, _ = io.WriteString(h, r.URL.Path)
	for _, k := range slices.Sorted(maps.Keys(r.PostForm)) {
		if k == "csrf" || k == "once" {
			continue
		}
		for _, v := range r.PostForm[k] {
			_, _ = fmt.Fprintf(h, "\x00%s\x00%s", k, v)
		}
	}
	return "web-" + sess.who.ID + "-" + once + "-" + hex.EncodeToString(h.Sum(nil)[:8])
}

// refused shows the incident page again with why the action did not
// happen, and audits the refusal.
func (s *Server) refused(w http.ResponseWriter, r *http.Request, sess session, action, target string, err error) {
	status := api.HTTPStatus(err)
	s.audit(r, auditRefusal(sess, "web "+action, target, err))
	if status == http.StatusNotFound || status >= 500 && incidentflow.ErrorCode(err) != incidentflow.EUNAVAILABLE {
		s.fail(w, r, err)
		return
	}
	if r.PathValue("ref") != "" {
		s.showIncident(w, r, sess, status, incidentflow.ErrorMessage(err))
		return
	}
	s.flashProblem(w, incidentflow.ErrorMessage(err))
	http.Redirect(w, r, localPath(r.PostForm.Get("back")), http.StatusSeeOther)
}

// flashProblem leaves why something did not happen for the next page.
func (s *Server) flashProblem(w http.ResponseWriter, msg string) { s.flash(w, "!"+msg) }

// localTime reads a datetime-local input, in the reader's time zone.
func (s *Server) localTime(sess session, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, &incidentflow.Error{Code: incidentflow.EINVALID, Message: "start is required: when the review now starts",
			Details: []incidentflow.Detail{{Field: "start", Message: "is required"}}}
	}
	t, err := time.ParseInLocation(dsl.LocalTimeLayout, v, s.clock(&sess.who).Loc)
	if err != nil {
		return t, &incidentflow.Error{Code: incidentflow.EINVALID, Message: fmt.Sprintf("%q is not a date and time like 2026-12-23T16:00", v),
			Details: []incidentflow.Detail{{Field: "start", Message: "is not a date and time"}}}
	}
	return t, nil
}

// completeTask marks a follow-up done and goes back where the form was.
func (s *Server) completeTask(w http.ResponseWriter, r *http.Request, sess session) {
	id := r.PathValue("id")
	req := api.CompleteTaskRequest{Note: r.PostForm.Get("note")}
	err := s.checkAct(sess, req)
	if err == nil {
		_, err = s.cfg.App.CompleteTask(r.Context(), sess.who, id, req, s.updateID(sess, r))
	}
	ref, _, _ := strings.Cut(id, "-T")
	if err != nil {
		s.refused(w, r, sess, "complete", ref, err)
		return
	}
	s.audit(r, auditDone(sess, "web complete", id))
	s.flash(w, "You marked "+id+" done.")
	http.Redirect(w, r, localPath(r.PostForm.Get("back")), http.StatusSeeOther)
}

// streamsPerSession bounds the live pages one session keeps open, each
// of which asks the store for changes every Poll.
const streamsPerSession = 8

// streamCount counts the open streams of each session.
type streamCount struct {
	mu sync.Mutex
	n  map[string]int
}

// open counts a new stream of the session, if it may have one more.
func (c *streamCount) open(session string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	if c.n[session] >= streamsPerSession {
		return false
	}
	c.n[session]++
	return true
}

// close counts a stream of the session ended.
func (c *streamCount) close(session string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n[session]--; c.n[session] <= 0 {
		delete(c.n, session)
	}
}

// Streams end after a while, and the browser opens a new one: a session
// that ended or an incident no longer visible is noticed on the way.
const (
	streamFor   = 30 * time.Minute
	heartbeat   = 15 * time.Second
	recheckSess = 30 * time.Second
)

// stream sends the incident page's changes as Server-Sent Events: the
// version the record stands at now, then "changed" each time it moves.
// It watches the store, not this process, so every replica sees every
// change, whichever replica's request made it.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, sess session) {
	ref := r.PathValue("ref")
	ctx := r.Context()
	if !s.streams.open(sess.id) {
		// Each stream asks the store every Poll: a session holds a few.
		w.Header().Set("Retry-After", "60")
		http.Error(w, fmt.Sprintf("too many live pages open: at most %d at once; close some tabs", streamsPerSession), http.StatusTooManyRequests)
		return
	}
	defer s.streams.close(sess.id)
	version, err := s.cfg.App.Version(ctx, sess.who, ref)
	if err != nil {
		http.Error(w, incidentflow.ErrorMessage(err), api.HTTPStatus(err))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	rc := http.NewResponseController(w)
	send := func(msg string) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(heartbeat * 2))
		if _, err := fmt.Fprint(w, msg); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send("retry: 2000\nevent: version\ndata: " + version + "\n\n") {
		return
	}
	poll := time.NewTicker(s.cfg.Poll)
	defer poll.Stop()
	end := time.After(streamFor)
	lastBeat, lastCheck := time.Now(), time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.closing:
			return
		case <-end:
			return
		case <-poll.C:
		}
		if time.Since(lastCheck) >= recheckSess {
			if _, err := s.readSession(r); errors.Is(err, errSignedOut) {
				send("event: gone\ndata: signed out\n\n")
				return
			}
			lastCheck = time.Now()
		}
		v, err := s.cfg.App.Version(ctx, sess.who, ref)
		switch {
		case ctx.Err() != nil:
			return
		case incidentflow.ErrorCode(err) == incidentflow.ENOTFOUND || incidentflow.ErrorCode(err) == incidentflow.EFORBIDDEN:
			send("event: gone\ndata: not visible\n\n")
			return
		case err != nil:
			continue // the database blinked: look again at the next tick
		case v != version:
			version = v
			if !send("event: changed\ndata: " + v + "\n\n") {
				return
			}
			lastBeat = time.Now()
		case time.Since(lastBeat) >= heartbeat:
			if !send(": still here\n\n") {
				return
			}
			lastBeat = time.Now()
		}
	}
}
