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

// check sends a request and records how its answer departs from the document.
func (c *conformance) check(t *testing.T, method, path, body string) response {
	t.Helper()
	r := c.s.do(t, method, path, body)
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
	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/healthz", ""},
		{"GET", "/readyz", ""},
		{"GET", "/v1/incidents?limit=2", ""},
		{"GET", "/v1/incidents?status=nope", ""},
		{"GET", base, ""},
		{"GET", base + "/timeline", ""},
		{"GET", base + "/tasks", ""},
		{"GET", "/v1/deadlines", ""},
		{"GET", "/v1/processes", ""},
		{"GET", "/v1/processes/privacy", ""},
		{"GET", "/v1/processes/nope", ""},
		{"POST", base + "/acknowledge", `{"by":"alice"}`},
		{"POST", base + "/acknowledge", `{"by":"bob"}`},
		{"POST", base + "/notes", `{"text":"a note","by":"alice"}`},
		{"POST", base + "/roles", `{"role":"owner","person":"alice","by":"erin"}`},
		{"POST", base + "/severity", `{"severity":"nope"}`},
		{"POST", base + "/signals/nope", `{}`},
		{"POST", base + "/approvals", `{"by":"erin"}`},
		{"POST", "/v1/tasks/" + ref + "-T99/complete", `{"by":"alice"}`},
		{"POST", "/v1/incidents/INC-999999999/acknowledge", `{"by":"alice"}`},
		{"POST", "/v1/alerts/grafana", `{"alerts":[]}`},
		{"POST", "/v1/alerts/alertmanager", `{"version":"3","alerts":[]}`},
	} {
		c.check(t, tc.method, tc.path, tc.body)
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
}
