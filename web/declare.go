package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/api"
	"github.com/incidentflow/incidentflow/dsl"
)

// The declare form is generated from the process's typed fields: each
// type has its input, required fields are marked and defaults filled in,
// and the API's own messages stand next to the fields they are about.

// declarePage is the declare form as shown.
type declarePage struct {
	Processes []*dsl.Process
	Process   *dsl.Process
	Title     string
	Severity  string
	Summary   string
	Fields    []formField
	Errors    map[string]string
	// Problems list the errors, each linked to its field, above the form.
	Problems   []formProblem
	Key        string
	CanDeclare bool
}

// formProblem is one problem of a declaration, and the input it is about.
type formProblem struct {
	Input, Text string
}

// problems lists what the API refused, in the form's order, each with the
// input it names (none for the whole).
func problems(details []incidentflow.Detail) []formProblem {
	var out []formProblem
	for _, d := range details {
		p := formProblem{Text: d.Message}
		switch name, ok := strings.CutPrefix(d.Field, "fields."); {
		case ok:
			p.Input, p.Text = "d-field-"+name, words(name)+" "+d.Message
		case d.Field == "title" || d.Field == "severity" || d.Field == "summary":
			p.Input, p.Text = "d-"+d.Field, strings.ToUpper(d.Field[:1])+d.Field[1:]+" "+d.Message
		case d.Field == "fields":
			p.Text = "The fields " + d.Message
		}
		out = append(out, p)
	}
	return out
}

// formField is one of the process's fields in the form.
type formField struct {
	dsl.FieldDef
	// Input is the HTML input type of single-line fields; Zone the time
	// zone a time field is read in.
	Input   string
	Zone    string
	Value   string
	Checked bool
	Error   string
}

// chooseProcess lists the kinds of incident one may declare.
func (s *Server) chooseProcess(w http.ResponseWriter, r *http.Request, sess session) {
	p := s.base(w, r, sess, "Declare an incident", "declare")
	cat := s.cfg.App.Catalog()
	dp := declarePage{CanDeclare: sess.who.Allows(incidentflow.PermDeclare)}
	for _, t := range cat.Types() {
		dp.Processes = append(dp.Processes, cat.Processes[t])
	}
	p.Data = dp
	s.render(w, http.StatusOK, "declare.html", p)
}

// declareForm shows the form of one process, filled with its defaults.
func (s *Server) declareForm(w http.ResponseWriter, r *http.Request, sess session) {
	proc, ok := s.cfg.App.Catalog().Processes[r.PathValue("type")]
	if !ok {
		s.fail(w, r, incidentflow.Errorf(incidentflow.ENOTFOUND, "there is no process of that name to declare: the Declare page lists them"))
		return
	}
	dp := declarePage{Process: proc, Key: random(), CanDeclare: sess.who.Allows(incidentflow.PermDeclare), Errors: map[string]string{}}
	if len(proc.Severities) > 0 {
		dp.Severity = proc.Severities[len(proc.Severities)-1]
	}
	c := s.clock(&sess.who)
	for _, def := range proc.Fields {
		f := formField{FieldDef: def, Input: inputType(def.Type), Zone: c.Zone()}
		if def.Default != nil {
			f.Value, f.Checked = formValue(def, def.Default, c)
		}
		dp.Fields = append(dp.Fields, f)
	}
	s.renderDeclare(w, r, sess, http.StatusOK, dp, "")
}

func (s *Server) renderDeclare(w http.ResponseWriter, r *http.Request, sess session, status int, dp declarePage, problem string) {
	p := s.base(w, r, sess, "Declare: "+dp.Process.Title, "declare")
	p.Problem, p.Data = problem, dp
	s.render(w, status, "declare-form.html", p)
}

// inputType is the input a single-line field of a type takes.
func inputType(t string) string {
	switch t {
	case "int", "number":
		return "number"
	case "time":
		return "datetime-local"
	}
	return "text"
}

// formValue is how a field's value shows in its input.
func formValue(def dsl.FieldDef, v any, c clock) (string, bool) {
	switch def.Type {
	case "bool":
		b, _ := v.(bool)
		return "", b
	case "list":
		var lines []string
		switch l := v.(type) {
		case []string:
			lines = l
		case []any:
			for _, x := range l {
				lines = append(lines, fmt.Sprint(x))
			}
		}
		return strings.Join(lines, "\n"), false
	case "time":
		if s, ok := v.(string); ok {
			if t, err := time.Parse(time.RFC3339, s); err == nil {
				return c.Input(t), false
			}
		}
	}
	if x, ok := v.(float64); ok { // as JSON brought it: 1500000, not 1.5e+06
		return strconv.FormatFloat(x, 'f', -1, 64), false
	}
	return fmt.Sprint(v), false
}

// declare declares the incident the form describes, once however often
// the form is sent, and shows it.
func (s *Server) declare(w http.ResponseWriter, r *http.Request, sess session) {
	proc, ok := s.cfg.App.Catalog().Processes[r.PathValue("type")]
	if !ok {
		s.fail(w, r, incidentflow.Errorf(incidentflow.ENOTFOUND, "there is no process of that name to declare: the Declare page lists them"))
		return
	}
	form := r.PostForm
	c := s.clock(&sess.who)
	dp := declarePage{Process: proc, Title: form.Get("title"), Severity: form.Get("severity"), Summary: form.Get("summary"),
		Key: form.Get("key"), CanDeclare: sess.who.Allows(incidentflow.PermDeclare), Errors: map[string]string{}}
	if incidentflow.CheckString(dp.Key, true, 64) != "" || dp.Key == "" {
		dp.Key = random()
	}
	req := api.DeclareRequest{Type: proc.Type, Title: dp.Title, Severity: dp.Severity, Summary: dp.Summary, Fields: map[string]any{}}
	for _, def := range proc.Fields {
		f := formField{FieldDef: def, Input: inputType(def.Type), Zone: c.Zone(), Value: form.Get("field." + def.Name)}
		if v, given := fieldValue(def, form, c); given {
			req.Fields[def.Name] = v
		}
		f.Checked = def.Type == "bool" && form.Get("field."+def.Name) != ""
		dp.Fields = append(dp.Fields, f)
	}
	inc, _, err := s.cfg.App.DeclareAs(r.Context(), sess.who, req, "web:"+sess.who.ID+":"+dp.Key)
	switch {
	case err == nil:
		s.flash(w, "You declared "+inc.Ref+": its process has started.")
	case inc.Ref != "":
		s.flash(w, "You declared "+inc.Ref+". Its run has not started yet; it starts on its own as soon as Temporal answers.")
	default:
		s.audit(r, auditRefusal(sess, "web declare", proc.Type, err))
		var e *incidentflow.Error
		problem := incidentflow.ErrorMessage(err)
		if incidentflow.ErrorCode(err) == incidentflow.ECONFLICT {
			// The form was sent before with other words (the browser kept it):
			// it now has a key of its own, so sending it declares it.
			dp.Key = random()
			problem = "This form was sent before and declared another incident. Nothing was declared now: check what it says and send it again to declare it as a new incident."
		}
		if errors.As(err, &e) && len(e.Details) > 0 {
			for _, d := range e.Details {
				dp.Errors[d.Field] = d.Message
			}
			dp.Problems, problem = problems(e.Details), ""
		}
		for i := range dp.Fields {
			dp.Fields[i].Error = dp.Errors["fields."+dp.Fields[i].Name]
		}
		s.renderDeclare(w, r, sess, api.HTTPStatus(err), dp, problem)
		return
	}
	s.audit(r, auditDone(sess, "web declare", inc.Ref))
	if _, err := s.cfg.App.Incident(r.Context(), sess.who, inc.Ref); incidentflow.ErrorCode(err) == incidentflow.ENOTFOUND {
		// A restricted process's incident is its viewers' to see, not
		// always its declarer's: they are told so, not sent to a 404.
		s.flash(w, "You declared "+inc.Ref+". Its process is restricted, so only the people it names, and those it reaches, see it; you will see it if they give you a role in it.")
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/incidents/"+url.PathEscape(inc.Ref), http.StatusSeeOther)
}

// fieldValue reads a field from the form as its type wants it; given is
// false when it was left empty (so the default, or "is required", applies).
// What does not read as its type goes to the API as typed, and comes back
// with its message.
func fieldValue(def dsl.FieldDef, form url.Values, c clock) (v any, given bool) {
	raw := form.Get("field." + def.Name)
	switch def.Type {
	case "bool":
		return raw != "", true
	case "text":
		return raw, strings.TrimSpace(raw) != ""
	case "list":
		var items []any
		for _, line := range strings.Split(raw, "\n") {
			if line = strings.TrimSpace(line); line != "" {
				items = append(items, line)
			}
		}
		return items, len(items) > 0
	}
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, false
	}
	switch def.Type {
	case "int":
		if n, err := strconv.ParseInt(raw, 10, 64); err == nil {
			return n, true
		}
	case "number":
		if n, err := strconv.ParseFloat(raw, 64); err == nil {
			return n, true
		}
	case "time":
		if t, err := time.ParseInLocation(dsl.LocalTimeLayout, raw, c.Loc); err == nil {
			return t.UTC().Format(time.RFC3339), true
		}
	}
	return raw, true
}
