package web

import (
	"net/http"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/api"
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
	CanDeclare bool
}

// work is the home page: what waits for the signed-in person.
func (s *Server) work(w http.ResponseWriter, r *http.Request, sess session) {
	p := s.base(w, r, sess, "My work", "work")
	wk, err := s.cfg.App.Work(r.Context(), sess.who)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p.Data = workPage{Work: wk, CanDeclare: sess.who.Allows(incidentflow.PermDeclare)}
	s.render(w, http.StatusOK, "work.html", p)
}
