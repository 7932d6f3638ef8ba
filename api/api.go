// Package api is incidentflow's HTTP API (gin): routes, strict request decoding,
// the exactly-once declaration of incidents and the one mapping of errors to
// HTTP. It talks to the store and to Temporal through small interfaces; it must
// never import workflows' internals beyond their inputs, activities or channels.
package api

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/store"
)

// Store is what the API needs of the database: the small stores each group
// of handlers works with, together.
type Store interface {
	IncidentStore
	AccessStore
	AlertStore
	RequestStore
	ReadStore
}

// IncidentStore keeps incidents, the process versions they run, what their
// runs record, and their tasks: declaring, reading and acting.
type IncidentStore interface {
	Ping(ctx context.Context) error
	SaveProcessVersion(ctx context.Context, v store.ProcessVersion) error
	ProcessVersion(ctx context.Context, hash string) (store.ProcessVersion, error)
	CreateIncident(ctx context.Context, inc incidentflow.Incident) (incidentflow.Incident, bool, error)
	MarkWorkflowStarted(ctx context.Context, ref string) error
	UnstartedIncidents(ctx context.Context, declaredBefore time.Time, limit int) ([]incidentflow.Incident, error)
	Incident(ctx context.Context, ref string) (incidentflow.Incident, error)
	ListIncidents(ctx context.Context, f store.ListFilter) ([]incidentflow.Incident, error)
	Timeline(ctx context.Context, ref string) ([]incidentflow.TimelineEvent, error)
	Tasks(ctx context.Context, ref string) ([]incidentflow.Task, error)
	Deadlines(ctx context.Context, f store.DeadlineFilter) ([]incidentflow.Deadline, error)
	Task(ctx context.Context, id string) (incidentflow.Task, error)
	CompleteTask(ctx context.Context, t incidentflow.Task, e incidentflow.TimelineEvent) error
	ApplyChange(ctx context.Context, c incidentflow.Change) error
	SettleEvents(ctx context.Context, ref string, events []incidentflow.TimelineEvent) error
	WithdrawUpdate(ctx context.Context, ref, prefix string) error
}

// AccessStore answers who a request is, what they may see, and keeps the
// audit log.
type AccessStore interface {
	TokenByHash(ctx context.Context, hash string) (incidentflow.Token, error)
	VisibleIncident(ctx context.Context, ref string, v *store.Visibility) (incidentflow.Incident, error)
	RestrictedProcesses(ctx context.Context) ([]store.RestrictedProcess, error)
	AppendAudit(ctx context.Context, e store.AuditEntry) (store.AuditEntry, error)
	FindAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEntry, error)
}

// AlertStore keeps the alerts of monitoring systems and their fingerprints' claims.
type AlertStore interface {
	LatestAlert(ctx context.Context, source, fingerprint string) (store.Alert, error)
	SaveAlert(ctx context.Context, a store.Alert) (string, error)
	AlertClaimed(ctx context.Context, source, fingerprint string) (bool, error)
	LatestAlerts(ctx context.Context, source string, fingerprints []string) (map[string]store.Alert, error)
	DeclareAlerts(ctx context.Context, ds []store.AlertDeclaration) ([]store.DeclaredAlert, error)
}

// RequestStore keeps the Idempotency-Keys of requests and their answers.
type RequestStore interface {
	BeginRequest(ctx context.Context, k store.RequestKey) (store.RequestKey, bool, error)
	FinishRequest(ctx context.Context, principal, key string, status int, response string) error
	ReleaseRequest(ctx context.Context, principal, key string) error
	PruneRequests(ctx context.Context) (int64, error)
}

// ReadStore answers what the web app reads (app.go): roles, versions, a
// person's work and the insights' figures.
type ReadStore interface {
	IncidentRoles(ctx context.Context, ref string) (map[string]string, error)
	Version(ctx context.Context, ref string) (time.Time, int64, error)
	RunState(ctx context.Context, ref string) (json.RawMessage, time.Time, error)
	Involvements(ctx context.Context, person string, v *store.Visibility) ([]store.Involvement, error)
	OpenTasks(ctx context.Context, owner string, v *store.Visibility) ([]incidentflow.Task, error)
	Times(ctx context.Context, since time.Time, v *store.Visibility) ([]store.IncidentTimes, error)
	DeadlineCounts(ctx context.Context, since time.Time, v *store.Visibility) ([]store.DeadlineCount, error)
}

var _ Store = (*store.Store)(nil)

// Temporal is what the API needs of a Temporal client.
type Temporal interface {
	ExecuteWorkflow(ctx context.Context, options client.StartWorkflowOptions, workflow any, args ...any) (client.WorkflowRun, error)
	UpdateWorkflow(ctx context.Context, options client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error)
	QueryWorkflow(ctx context.Context, workflowID, runID, queryType string, args ...any) (converter.EncodedValue, error)
	CheckHealth(ctx context.Context, request *client.CheckHealthRequest) (*client.CheckHealthResponse, error)
	WorkflowService() workflowservice.WorkflowServiceClient
}

// Config is the API's wiring, built in cmd/.
type Config struct {
	Store    Store
	Temporal Temporal
	Catalog  *dsl.Catalog
	Logger   *slog.Logger
	// BaseURL is where this API is reached, for links in messages.
	BaseURL string
	// UIURL is the Temporal Web UI's address, for links to runs.
	UIURL     string
	Namespace string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Metrics receives the API's metrics and is served at /metrics; nil
	// means a registry of the API's own.
	Metrics *prometheus.Registry
}

// metrics are what the API counts.
type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	declared *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "incidentflow_http_requests_total",
			Help: "HTTP requests answered, by method, route and status."}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "incidentflow_http_request_duration_seconds",
			Help: "Time to answer HTTP requests, by method and route.", Buckets: prometheus.DefBuckets}, []string{"method", "route"}),
		declared: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "incidentflow_incidents_declared_total",
			Help: "Incidents declared, by type and severity."}, []string{"type", "severity"}),
	}
	reg.MustRegister(m.requests, m.latency, m.declared)
	return m
}

// Server serves the HTTP API.
type Server struct {
	cfg      Config
	router   *gin.Engine
	metrics  *metrics
	refusals refusals
	// starts bounds the runs started behind alert notifications' answers,
	// whatever the number of notifications; starting holds their refs, and
	// declaring the fingerprints (scope and fingerprint) notifications are
	// declaring now.
	starts    chan struct{}
	starting  inFlight
	declaring inFlight
}

// openAPI describes every route; a test holds it and the router together.
//
//go:embed openapi.json
var openAPI []byte

// maxBody caps every request body.
const maxBody = 1 << 20

// New builds the API's router.
func New(cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = prometheus.NewRegistry()
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	cfg.UIURL = strings.TrimRight(cfg.UIURL, "/")
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	s := &Server{cfg: cfg, router: r, metrics: newMetrics(cfg.Metrics), starts: make(chan struct{}, alertWorkers),
		starting: inFlight{m: map[string]int{}}, declaring: inFlight{m: map[string]int{}}}
	r.Use(s.recover, s.logRequests, limitBody)
	r.NoRoute(func(c *gin.Context) {
		s.fail(c, incidentflow.Errorf(incidentflow.ENOTFOUND, "no route %s %s", c.Request.Method, c.Request.URL.Path))
	})
	r.NoMethod(func(c *gin.Context) {
		c.JSON(http.StatusMethodNotAllowed, errorBody("method_not_allowed", fmt.Sprintf("%s is not allowed on %s", c.Request.Method, c.Request.URL.Path), nil))
	})

	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/readyz", s.ready)
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(cfg.Metrics, promhttp.HandlerOpts{})))
	r.GET("/v1/openapi.json", func(c *gin.Context) { c.Data(http.StatusOK, "application/json", openAPI) })

	// Every /v1 route needs a token; what it may do depends on its
	// principal's role, and what it sees on the incidents' visibility.
	// Every change, every refusal and every read of a restricted incident
	// goes to the audit log.
	v1 := r.Group("/v1", s.audit, s.authenticate)
	read := v1.Group("", s.require(incidentflow.PermRead))
	read.GET("/incidents", s.listIncidents)
	read.GET("/incidents/:ref", s.getIncident)
	read.GET("/incidents/:ref/timeline", s.timeline)
	read.GET("/incidents/:ref/tasks", s.listTasks)
	read.GET("/deadlines", s.listDeadlines)
	read.GET("/processes", s.listProcesses)
	read.GET("/processes/:type", s.getProcess)

	declare := v1.Group("", s.require(incidentflow.PermDeclare))
	declare.POST("/incidents", s.declare)
	declare.POST("/alerts/alertmanager", s.alerts("alertmanager"))
	declare.POST("/alerts/grafana", s.alerts("grafana"))

	respond := v1.Group("", s.require(incidentflow.PermRespond), s.idempotent)
	respond.POST("/incidents/:ref/acknowledge", s.acknowledge)
	respond.POST("/incidents/:ref/status", s.setStatus)
	respond.POST("/incidents/:ref/severity", s.setSeverity)
	respond.PATCH("/incidents/:ref/fields", s.setFields)
	respond.POST("/incidents/:ref/roles", s.assignRole)
	respond.POST("/incidents/:ref/notes", s.addNote)
	respond.POST("/incidents/:ref/approvals", s.approve)
	respond.POST("/incidents/:ref/review", s.reviewHeld)
	respond.POST("/incidents/:ref/review/reschedule", s.rescheduleReview)
	respond.POST("/incidents/:ref/signals/:name", s.signal)
	respond.POST("/tasks/:id/complete", s.completeTask)

	admin := v1.Group("", s.require(incidentflow.PermAdmin))
	admin.POST("/processes/validate", s.validateProcess)
	admin.GET("/audit", s.listAudit)
	return s
}

// Handler returns the http.Handler serving the API.
func (s *Server) Handler() http.Handler { return s.router }

func limitBody(c *gin.Context) {
	if c.Request.Body != nil {
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxBody)
	}
	c.Next()
}

func (s *Server) recover(c *gin.Context) {
	defer func() {
		if v := recover(); v != nil {
			s.cfg.Logger.Error("panic in handler", "path", c.Request.URL.Path, "error", fmt.Sprint(v))
			s.fail(c, fmt.Errorf("panic: %v", v))
			c.Abort()
		}
	}()
	c.Next()
}

func (s *Server) logRequests(c *gin.Context) {
	start := time.Now()
	c.Set(arrivedKey, start)
	c.Next()
	level := slog.LevelDebug
	if c.Writer.Status() >= 500 {
		level = slog.LevelWarn
	}
	elapsed := time.Since(start)
	route := c.FullPath() // the pattern, not the path: one series per route
	if route == "" {
		route = "unmatched"
	}
	s.metrics.requests.WithLabelValues(c.Request.Method, route, strconv.Itoa(c.Writer.Status())).Inc()
	s.metrics.latency.WithLabelValues(c.Request.Method, route).Observe(elapsed.Seconds())
	attrs := []any{"method", c.Request.Method, "path", c.Request.URL.Path, "status", c.Writer.Status(), "duration", elapsed}
	if ref := c.Param("ref"); ref != "" {
		attrs = append(attrs, "incident", ref)
	}
	s.cfg.Logger.Log(c.Request.Context(), level, "http request", attrs...)
}

// ready reports whether the database and Temporal answer.
func (s *Server) ready(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 3*time.Second)
	defer cancel()
	checks := gin.H{"database": "ok", "temporal": "ok"}
	ok := true
	if err := s.cfg.Store.Ping(ctx); err != nil {
		checks["database"], ok = incidentflow.ErrorMessage(err), false
	}
	if _, err := s.cfg.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		checks["temporal"], ok = "Temporal is unreachable", false
	}
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	c.JSON(status, gin.H{"ready": ok, "checks": checks})
}

// errorBody is the one error shape of the API.
func errorBody(code, message string, details []incidentflow.Detail) gin.H {
	if details == nil {
		details = []incidentflow.Detail{}
	}
	return gin.H{"error": gin.H{"code": code, "message": message, "details": details}}
}

// httpStatus maps an error code to its HTTP status.
func httpStatus(code string) int {
	switch code {
	case incidentflow.EBADREQUEST:
		return http.StatusBadRequest
	case incidentflow.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case incidentflow.EFORBIDDEN:
		return http.StatusForbidden
	case incidentflow.EINVALID:
		return http.StatusUnprocessableEntity
	case incidentflow.ENOTFOUND:
		return http.StatusNotFound
	case incidentflow.ECONFLICT:
		return http.StatusConflict
	case incidentflow.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	case incidentflow.EBUSY:
		return http.StatusTooManyRequests
	}
	return http.StatusInternalServerError
}

// fail answers with the error's status and the one error shape. Internal and
// unavailable errors are logged with their cause; the caller sees only the message.
func (s *Server) fail(c *gin.Context, err error) {
	code := incidentflow.ErrorCode(err)
	var details []incidentflow.Detail
	var e *incidentflow.Error
	if errors.As(err, &e) {
		details = e.Details
	}
	if code == incidentflow.EINTERNAL || code == incidentflow.EUNAVAILABLE {
		s.cfg.Logger.Warn("request failed", "path", c.Request.URL.Path, "incident", c.Param("ref"), "error", err)
	}
	c.Set(errorKey, incidentflow.ErrorMessage(err))
	if code == incidentflow.EBUSY {
		c.Header("Retry-After", "2")
	}
	c.JSON(httpStatus(code), errorBody(code, incidentflow.ErrorMessage(err), details))
}

// decode reads a JSON request body strictly: one object of valid UTF-8, no
// unknown fields, no key twice in an object, nested at most maxDepth deep, no
// NUL characters (PostgreSQL cannot store them, and no person types them),
// and every string within the limits its field's tag sets (see
// incidentflow.CheckLimits).
func decode(c *gin.Context, v any) error {
	raw, err := readBody(c)
	if err != nil {
		return err
	}
	if err := checkJSON(raw); err != nil {
		return err
	}
	var compact bytes.Buffer
	if json.Compact(&compact, raw) == nil {
		c.Set(detailKey, compact.String()) // what was asked, for the audit log
	}
	if err := exactKeys(raw, v); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var syntaxErr *json.SyntaxError
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.Is(err, io.EOF):
			return incidentflow.Errorf(incidentflow.EBADREQUEST, "the request body is empty; send a JSON object")
		case errors.Is(err, io.ErrUnexpectedEOF):
			return incidentflow.Errorf(incidentflow.EBADREQUEST, "the request body is not valid JSON: it ends before the object does")
		case errors.As(err, &syntaxErr):
			return incidentflow.Errorf(incidentflow.EBADREQUEST, "the request body is not valid JSON (at byte %d)", syntaxErr.Offset)
		case errors.As(err, &typeErr):
			if path, ok := hugeNumber(raw); ok {
				return &incidentflow.Error{Code: incidentflow.EBADREQUEST, Message: fmt.Sprintf("%q is a number too large for any field", path),
					Details: []incidentflow.Detail{{Field: path, Message: "is a number too large for any field"}}}
			}
			if typeErr.Field == "" {
				return incidentflow.Errorf(incidentflow.EBADREQUEST, "the request body must be a JSON object, not %s", jsonKind(typeErr.Value))
			}
			return &incidentflow.Error{Code: incidentflow.EBADREQUEST, Message: fmt.Sprintf("%q must be %s, not %s", typeErr.Field, kindWords(typeErr.Type), jsonKind(typeErr.Value)),
				Details: []incidentflow.Detail{{Field: typeErr.Field, Message: "must be " + kindWords(typeErr.Type)}}}
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return &incidentflow.Error{Code: incidentflow.EBADREQUEST, Message: fmt.Sprintf("unknown field %q", name),
				Details: []incidentflow.Detail{{Field: name, Message: "unknown field"}}}
		}
		if field, words, ok := badValue(raw, v); ok {
			return &incidentflow.Error{Code: incidentflow.EBADREQUEST, Message: fmt.Sprintf("%q must be %s", field, words),
				Details: []incidentflow.Detail{{Field: field, Message: "must be " + words}}}
		}
		return incidentflow.Errorf(incidentflow.EBADREQUEST, "the request body is not a valid JSON object")
	}
	if dec.More() {
		return incidentflow.Errorf(incidentflow.EBADREQUEST, "the request body holds more than one JSON value")
	}
	if details := incidentflow.CheckLimits(v); len(details) > 0 {
		return invalid(details)
	}
	return nil
}

// readBody reads the whole request body, within maxBody.
func readBody(c *gin.Context) ([]byte, error) {
	raw, err := io.ReadAll(c.Request.Body)
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr):
		return nil, incidentflow.Errorf(incidentflow.EBADREQUEST, "the request body is larger than %d bytes", maxBody)
	case err != nil:
		return nil, incidentflow.Errorf(incidentflow.EBADREQUEST, "the request body could not be read")
	}
	return raw, nil
}

// maxDepth is how deeply a request's JSON may nest objects and lists.
const maxDepth = 16

// checkJSON refuses what encoding/json lets through silently: text that is
// not UTF-8 (it would be replaced), a key given twice in one object (the
// last would win), nesting deeper than maxDepth, and NUL characters.
func checkJSON(raw []byte) error {
	if !utf8.Valid(raw) {
		for i := 0; i < len(raw); {
			r, size := utf8.DecodeRune(raw[i:])
			if r == utf8.RuneError && size <= 1 {
				return incidentflow.Errorf(incidentflow.EBADREQUEST, "the request body is not valid UTF-8 text (at byte %d)", i)
			}
			i += size
		}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	// objects holds, for each object being read, the keys seen so far;
	// lists hold nil. expectKey is true where an object's next token is a key.
	var objects []map[string]bool
	expectKey := false
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // the strict decoder reports syntax errors in its words
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if len(objects) == maxDepth {
					return incidentflow.Errorf(incidentflow.EBADREQUEST, "the request body nests objects and lists more than %d deep", maxDepth)
				}
				var keys map[string]bool
				if t == '{' {
					keys = map[string]bool{}
				}
				objects = append(objects, keys)
				expectKey = t == '{'
				continue
			case '}', ']':
				objects = objects[:len(objects)-1]
			}
		case string:
			if strings.ContainsRune(t, 0) {
				return incidentflow.Errorf(incidentflow.EBADREQUEST, "the request body holds a NUL character (\\u0000), which no text may contain")
			}
			if expectKey {
				keys := objects[len(objects)-1]
				if keys[t] {
					return &incidentflow.Error{Code: incidentflow.EBADREQUEST, Message: fmt.Sprintf("the key %q is given twice in one object: say each thing once", t),
						Details: []incidentflow.Detail{{Field: t, Message: "given twice"}}}
				}
				keys[t] = true
				expectKey = false
				continue
			}
		}
		// After a value inside an object comes its next key.
		expectKey = len(objects) > 0 && objects[len(objects)-1] != nil
	}
}

// exactKeys refuses a body whose keys are the request's in another case:
// encoding/json would take "Title" (and "TITLE") for "title", and with both
// given, the last.
func exactKeys(raw []byte, v any) error {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var keys map[string]json.RawMessage
	if t.Kind() != reflect.Struct || json.Unmarshal(raw, &keys) != nil {
		return nil // not an object: the decoder says so in its words
	}
	names := map[string]string{}
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			names[strings.ToLower(name)] = name
		}
	}
	for k := range keys {
		if name, ok := names[strings.ToLower(k)]; ok && name != k {
			return &incidentflow.Error{Code: incidentflow.EBADREQUEST, Message: fmt.Sprintf("unknown field %q: write it %q, as keys are written exactly", k, name),
				Details: []incidentflow.Detail{{Field: k, Message: "unknown field"}}}
		}
	}
	return nil
}

// invalid is the error of a request whose fields break rules, naming each.
func invalid(details []incidentflow.Detail) error {
	msg := details[0].Field + " " + details[0].Message
	switch n := len(details) - 1; {
	case n == 1:
		msg += " (and 1 more problem: see details)"
	case n > 1:
		msg += fmt.Sprintf(" (and %d more problems: see details)", n)
	}
	return &incidentflow.Error{Code: incidentflow.EINVALID, Message: msg, Details: details}
}

// kindWords says what a Go type holds in the words of JSON.
func kindWords(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.String:
		return "text"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "another kind of value"
}

// jsonKind names what the JSON decoder found ("array", "string", "number 5").
func jsonKind(value string) string {
	kind, _, _ := strings.Cut(value, " ")
	switch kind {
	case "array":
		return "a list"
	case "object":
		return "an object"
	case "string":
		return "text"
	case "bool":
		return "true or false"
	case "number":
		return "a number"
	}
	return "null"
}

// hugeNumber finds, in a JSON body, a number too large for a float64, and
// names where it is (fields.data_subjects).
func hugeNumber(raw []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return "", false
	}
	var walk func(path string, v any) (string, bool)
	walk = func(path string, v any) (string, bool) {
		switch x := v.(type) {
		case json.Number:
			_, err := x.Float64()
			return path, err != nil
		case map[string]any:
			for _, k := range slices.Sorted(maps.Keys(x)) {
				if p, ok := walk(strings.TrimPrefix(path+"."+k, "."), x[k]); ok {
					return p, true
				}
			}
		case []any:
			for i, item := range x {
				if p, ok := walk(fmt.Sprintf("%s[%d]", path, i), item); ok {
					return p, true
				}
			}
		}
		return "", false
	}
	return walk("", v)
}

// badValue finds the top-level field of a JSON object whose value its own
// decoding refused (a time that is not one), and says what it must be.
func badValue(raw []byte, v any) (field, words string, ok bool) {
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return "", "", false
	}
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return "", "", false
	}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		value, given := obj[name]
		if !given || name == "" || name == "-" {
			continue
		}
		if json.Unmarshal(value, reflect.New(f.Type).Interface()) != nil {
			if f.Type == reflect.TypeFor[time.Time]() {
				return name, "a time like 2026-12-23T16:00:00Z (RFC 3339, with its offset)", true
			}
			return name, kindWords(f.Type), true
		}
	}
	return "", "", false
}
