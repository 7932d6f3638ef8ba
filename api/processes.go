package api

import (
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/dsl"
)

// processView summarises a process for the API.
type processView struct {
	*dsl.Process
	File string `json:"file"`
	Hash string `json:"hash"`
}

func (s *Server) listProcesses(c *gin.Context) {
	out := []processView{}
	for _, t := range s.cfg.Catalog.Types() {
		src := s.cfg.Catalog.Sources[t]
		out = append(out, processView{Process: s.cfg.Catalog.Processes[t], File: src.File, Hash: src.Hash})
	}
	c.JSON(http.StatusOK, gin.H{"processes": out})
}

func (s *Server) getProcess(c *gin.Context) {
	p, ok := s.cfg.Catalog.Processes[c.Param("type")]
	if !ok {
		s.fail(c, incidentflow.Errorf(incidentflow.ENOTFOUND, "no process %q: the types are %s", c.Param("type"), strings.Join(s.cfg.Catalog.Types(), ", ")))
		return
	}
	src := s.cfg.Catalog.Sources[p.Type]
	c.JSON(http.StatusOK, gin.H{"process": processView{Process: p, File: src.File, Hash: src.Hash}, "yaml": string(src.YAML)})
}

// validateProcess checks a process file sent as the body (YAML) against the
// directory in force, and reports every problem as file:line:col: message.
// The file name for messages comes from the ?file= query parameter.
func (s *Server) validateProcess(c *gin.Context) {
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		s.fail(c, incidentflow.Errorf(incidentflow.EBADREQUEST, "the request body could not be read (at most %d bytes)", maxBody))
		return
	}
	file := c.DefaultQuery("file", "process.yaml")
	p, problems := dsl.ParseProcess(file, body, s.cfg.Catalog.Directory)
	if problems == nil {
		problems = dsl.Problems{}
	}
	lines := make([]string, len(problems))
	for i, pr := range problems {
		lines[i] = pr.String()
	}
	resp := gin.H{"valid": p != nil, "problems": problems, "report": lines}
	if p != nil {
		if _, taken := s.cfg.Catalog.Processes[p.Type]; taken {
			resp["replaces"] = p.Type
		}
	}
	c.JSON(http.StatusOK, resp)
}
