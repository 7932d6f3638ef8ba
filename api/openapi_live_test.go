package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow"
)

// conformance checks live answers of the shared stack against
// api/openapi.json with kin-openapi's openapi3filter.
type conformance struct {
	s        *stack
	doc      *openapi3.T
	router   routers.Router
	problems []string
}

func newConformance(t *testing.T, s *stack) *conformance {
	t.Helper()
	raw, err := io.ReadAll(strings.NewReader(s.do(t, "GET", "/v1/openapi.json", "").raw))
	require.NoError(t, err)
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	require.NoError(t, err)
	require.NoError(t, doc.Validate(context.Background()), "openapi.json is itself valid")
	doc.Servers = openapi3.Servers{{URL: s.http.URL}}
	router, err := legacy.NewRouter(doc)
	require.NoError(t, err)
	return &conformance{s: s, doc: doc, router: router}
}

// check sends a request (with headers after the admin's token) and records
// how it, or its answer, departs from the document.
func (c *conformance) check(t *testing.T, method, path, body string, headers ...string) response {
	t.Helper()
	r := c.s.do(t, method, path, body, headers...)
	req, err := http.NewRequest(method, c.s.http.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		c.problems = append(c.problems, fmt.Sprintf("%s %s → %d: no documented route (%v)", method, path, r.status, err))
		return r
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		c.problems = append(c.problems, fmt.Sprintf("%s %s: the request itself is not what the document describes: %.300s", method, path, err))
	}
	req.Body = io.NopCloser(strings.NewReader(body))
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: r.status, Header: r.header,
		Body: io.NopCloser(bytes.NewReader([]byte(r.raw))), Options: &openapi3filter.Options{IncludeResponseStatus: true}}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		msg := err.Error()
		if len(msg) > 300 {
			msg = msg[:300] + "…"
		}
		c.problems = append(c.problems, fmt.Sprintf("%s %s → %d: %s", method, path, r.status, msg))
	}
	return r
}

// Every answer is what api/openapi.json says it is: the status is
// documented for the route, and the body matches its schema.
func TestResponsesMatchOpenAPI(t *testing.T) {
	s := setup(t)
	c := newConformance(t, s)
	ref := c.check(t, "POST", "/v1/incidents", `{"type":"operational","title":"Conformance","severity":"major","fields":{"customers_affected":3}}`).str("ref")
	key := fmt.Sprintf("conf-%d", time.Now().UnixNano())
	c.s.declare(t, `{"type":"engineering","title":"Conformance replay","severity":"minor"}`, "Idempotency-Key", key)
	base := "/v1/incidents/" + ref
	for _, tc := range []struct {
		method, path, body string
		headers            []string
	}{
		{"GET", "/healthz", "", nil},
		{"GET", "/readyz", "", nil},
		{"GET", "/v1/incidents?limit=2", "", nil},
		{"GET", "/v1/incidents?status=nope", "", nil},
		{"GET", base, "", nil},
		{"GET", base + "/timeline", "", nil},
		{"GET", base + "/tasks", "", nil},
		{"GET", "/v1/deadlines", "", nil},
		{"GET", "/v1/processes", "", nil},
		{"GET", "/v1/processes/privacy", "", nil},
		{"GET", "/v1/processes/nope", "", nil},
		{"GET", "/v1/audit?limit=3", "", nil},
		{"GET", "/v1/audit", "", s.as(t, "alice")},
		{"GET", base, "", []string{"Authorization", "Bearer nope"}},
		{"POST", base + "/acknowledge", `{}`, s.as(t, "alice")},
		{"POST", base + "/acknowledge", `{}`, s.as(t, "bob")},
		{"POST", base + "/notes", `{"text":"a note"}`, s.as(t, "alice")},
		{"POST", base + "/roles", `{"role":"owner","person":"alice"}`, s.as(t, "erin")},
		{"POST", base + "/severity", `{"severity":"nope"}`, nil},
		{"POST", base + "/signals/nope", `{}`, nil},
		{"POST", base + "/approvals", `{}`, s.as(t, "erin")},
		{"POST", "/v1/tasks/" + ref + "-T99/complete", `{}`, s.as(t, "alice")},
		{"POST", "/v1/incidents/INC-999999999/acknowledge", `{}`, s.as(t, "alice")},
		{"POST", base + "/acknowledge", `{}`, s.service(t, "viewer-bot", incidentflow.RoleViewer)},
		{"POST", "/v1/alerts/grafana", `{"alerts":[]}`, nil},
		{"POST", "/v1/alerts/alertmanager", `{"version":"3","alerts":[]}`, nil},
	} {
		c.check(t, tc.method, tc.path, tc.body, tc.headers...)
	}
	// A method the route does not serve is no operation of the document,
	// but its answer is still the one error shape, with a documented code,
	// and says which methods are allowed (RFC 9110 §15.5.6).
	errorSchema := c.doc.Components.Schemas["Error"].Value
	for _, tc := range []struct{ method, path string }{{"DELETE", base}, {"PUT", "/v1/incidents"}} {
		r := c.s.do(t, tc.method, tc.path, "{}")
		var body any
		require.NoError(t, json.Unmarshal([]byte(r.raw), &body))
		if err := errorSchema.VisitJSON(body); err != nil {
			c.problems = append(c.problems, fmt.Sprintf("%s %s → %d: the body is not an Error: %.120s", tc.method, tc.path, r.status, err))
		}
		if r.header.Get("Allow") == "" {
			c.problems = append(c.problems, fmt.Sprintf("%s %s → %d: no Allow header", tc.method, tc.path, r.status))
		}
	}
	require.Empty(t, c.problems, "answers that openapi.json does not describe:\n%s", strings.Join(c.problems, "\n"))

	// The document and the server refuse the same unknown fields.
	unknown := c.s.do(t, "POST", base+"/notes", `{"text":"a note","by":"alice"}`)
	require.Equal(t, http.StatusBadRequest, unknown.status, unknown.raw)
	c.check(t, "POST", base+"/notes", `{"text":"a note","by":"alice"}`)
	require.Len(t, c.problems, 1, "the document refuses the unknown field too: %v", c.problems)
	require.Contains(t, c.problems[0], "the request itself is not what the document describes")
}
