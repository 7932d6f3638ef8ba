package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/api"
	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/oncall"
	"github.com/incidentflow/incidentflow/store"
)

// fail shows why a page could not be read: not found (which is also what
// an incident the reader may not see is), not allowed, or unavailable.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := api.HTTPStatus(err)
	title := map[int]string{http.StatusNotFound: "Not found", http.StatusForbidden: "Not allowed",
		http.StatusUnprocessableEntity: "Not valid", http.StatusServiceUnavailable: "Unavailable"}[status]
	if title == "" {
		title = "Something went wrong"
	}
	if status >= 500 {
		s.cfg.Logger.Warn("page failed", "path", r.URL.Path, "error", err)
	}
	s.problemPage(w, r, status, title, incidentflow.ErrorMessage(err))
}

// workPage is what waits for the reader.
type workPage struct {
	api.Work
	CanDeclare, CanAct bool
}

// work is the home page: what waits for the signed-in person.
func (s *Server) work(w http.ResponseWriter, r *http.Request, sess session) {
	p := s.base(w, r, sess, "My work", "work")
	wk, err := s.cfg.App.Work(r.Context(), sess.who)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p.Data = workPage{Work: wk, CanDeclare: sess.who.Allows(incidentflow.PermDeclare), CanAct: sess.who.Allows(incidentflow.PermRespond)}
	s.render(w, http.StatusOK, "work.html", p)
}

// incidentsPage is a page of the incidents list.
type incidentsPage struct {
	Filter     store.ListFilter
	Types      []string
	Statuses   []string
	Severities []string
	Incidents  []incidentflow.Incident
	// Next is the link to the next page; First to the first, when this is not it.
	Next, First string
}

// pageSize is how many incidents a page of the list shows.
const pageSize = 25

// incidents lists the incidents the reader may see, by type, status,
// severity, open or closed, and whether they are involved, or found by ref
// or title, a page at a time.
func (s *Server) incidents(w http.ResponseWriter, r *http.Request, sess session) {
	p := s.base(w, r, sess, "Incidents", "incidents")
	q := r.URL.Query()
	f := store.ListFilter{Type: q.Get("type"), Status: q.Get("status"), Severity: q.Get("severity"), State: q.Get("state"),
		Query: strings.TrimSpace(q.Get("q")), Limit: pageSize}
	if q.Get("mine") != "" {
		f.Involved = sess.who.ID
	}
	after := q.Get("after")
	list, next, err := s.cfg.App.List(r.Context(), sess.who, f, after)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ip := incidentsPage{Filter: f, Types: s.cfg.App.Catalog().Types(), Statuses: dsl.Statuses, Severities: s.cfg.App.Severities(), Incidents: list}
	link := func(after string) string {
		v := url.Values{}
		for k, x := range map[string]string{"type": f.Type, "status": f.Status, "severity": f.Severity, "state": f.State, "q": f.Query, "after": after} {
			if x != "" {
				v.Set(k, x)
			}
		}
		if f.Involved != "" {
			v.Set("mine", "1")
		}
		if len(v) == 0 {
			return "/incidents"
		}
		return "/incidents?" + v.Encode()
	}
	if next != "" {
		ip.Next = link(next)
	}
	if after != "" {
		ip.First = link("")
	}
	p.Data = ip
	s.render(w, http.StatusOK, "incidents.html", p)
}

// deadlinesPage lists the clocks falling due.
type deadlinesPage struct {
	Until     time.Time
	Days      []deadlineDay
	Missed    []incidentflow.Deadline
	HasAnyDue bool
}

// deadlineDay is the clocks due on one day.
type deadlineDay struct {
	Day       time.Time
	Deadlines []incidentflow.Deadline
}

// deadlines shows what falls due this week (the next seven days), by day,
// and the clocks already missed and not yet met.
func (s *Server) deadlines(w http.ResponseWriter, r *http.Request, sess session) {
	p := s.base(w, r, sess, "Deadlines", "deadlines")
	until := p.T.Now.Add(7 * 24 * time.Hour)
	list, err := s.cfg.App.Deadlines(r.Context(), sess.who, store.DeadlineFilter{Statuses: []string{"open", "missed"}, DueBefore: until, Limit: 500})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	dp := deadlinesPage{Until: until}
	for _, d := range list {
		if d.Status == "missed" || d.DueAt.Before(p.T.Now) {
			dp.Missed = append(dp.Missed, d)
			continue
		}
		local := d.DueAt.In(p.T.Loc)
		day := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, p.T.Loc)
		if n := len(dp.Days); n == 0 || !dp.Days[n-1].Day.Equal(day) {
			dp.Days = append(dp.Days, deadlineDay{Day: day})
		}
		dp.Days[len(dp.Days)-1].Deadlines = append(dp.Days[len(dp.Days)-1].Deadlines, d)
	}
	dp.HasAnyDue = len(dp.Days) > 0 || len(dp.Missed) > 0
	p.Data = dp
	s.render(w, http.StatusOK, "deadlines.html", p)
}

// shift is who is on call for a schedule now, and who next.
type shift struct {
	Schedule dsl.Schedule
	Now      dsl.Person
	Next     *dsl.Person
	NextAt   time.Time
	Problem  string
	// Policies are the escalation policies paging the schedule.
	Policies []string
}

// onCallHorizon is how far ahead the on-call page looks for the next hand-off.
const onCallHorizon = 8 * 7 * 24 * time.Hour

// onCall shows who is on call now and next, for every schedule.
func (s *Server) onCall(w http.ResponseWriter, r *http.Request, sess session) {
	p := s.base(w, r, sess, "On call", "oncall")
	dir := s.cfg.App.Catalog().Directory
	person := func(id string) dsl.Person {
		if pp, ok := dir.Person(id); ok {
			return pp
		}
		return dsl.Person{ID: id, Name: id}
	}
	var shifts []shift
	for _, sch := range dir.Schedules {
		sh := shift{Schedule: sch}
		for _, pol := range dir.Policies {
			for _, l := range pol.Levels {
				for _, t := range l.Targets {
					if t.Kind == "schedule" && t.ID == sch.ID && !slices.Contains(sh.Policies, pol.ID) {
						sh.Policies = append(sh.Policies, pol.ID)
					}
				}
			}
		}
		now, err := oncall.OnCall(sch, p.T.Now)
		if err != nil {
			sh.Problem = err.Error()
			shifts = append(shifts, sh)
			continue
		}
		sh.Now = person(now)
		next, at, ok, err := oncall.Next(sch, p.T.Now, onCallHorizon)
		if err == nil && ok {
			np := person(next)
			sh.Next, sh.NextAt = &np, at
		}
		shifts = append(shifts, sh)
	}
	p.Data = shifts
	s.render(w, http.StatusOK, "oncall.html", p)
}

// processSummary is a process as the processes pages show it.
type processSummary struct {
	Process *dsl.Process
	Source  dsl.Source
	Steps   []sentence
	// Handlers are what it does when something changes.
	Handlers []handlerWords
	YAML     string
}

// processes lists the processes, each with what it does in a sentence.
func (s *Server) processes(w http.ResponseWriter, r *http.Request, sess session) {
	p := s.base(w, r, sess, "Processes", "processes")
	cat := s.cfg.App.Catalog()
	var list []processSummary
	for _, t := range cat.Types() {
		list = append(list, processSummary{Process: cat.Processes[t], Source: cat.Sources[t]})
	}
	p.Data = list
	s.render(w, http.StatusOK, "processes.html", p)
}

// process says what one process does, step by step in words, with its YAML.
func (s *Server) process(w http.ResponseWriter, r *http.Request, sess session) {
	cat := s.cfg.App.Catalog()
	proc, ok := cat.Processes[r.PathValue("type")]
	if !ok {
		s.fail(w, r, incidentflow.Errorf(incidentflow.ENOTFOUND, "there is no process %q", r.PathValue("type")))
		return
	}
	p := s.base(w, r, sess, proc.Title, "processes")
	src := cat.Sources[proc.Type]
	ps := processSummary{Process: proc, Source: src, Steps: describeSteps(proc.Steps), YAML: string(src.YAML)}
	for _, h := range proc.Handlers {
		ps.Handlers = append(ps.Handlers, handlerWords{When: describeTrigger(h.On) + describeWhen(h), Steps: describeSteps(h.Steps)})
	}
	p.Data = ps
	s.render(w, http.StatusOK, "process.html", p)
}
