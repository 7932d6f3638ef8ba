package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/dsl"
)

// HTTPInput is one http step's request, its templates already rendered.
type HTTPInput struct {
	Ref    string `json:"ref"`
	Key    string `json:"key"` // sent as Idempotency-Key: the same for every attempt
	Step   string `json:"step"`
	Method string `json:"method"`
	URL    string `json:"url"`
	// Headers are sent as they are; SecretHeaders name the worker's
	// environment variables that hold their values.
	Headers       map[string]string `json:"headers,omitempty"`
	SecretHeaders map[string]string `json:"secret_headers,omitempty"`
	Body          any               `json:"body,omitempty"`
	Expect        []int             `json:"expect,omitempty"`
	Output        map[string]string `json:"output,omitempty"`
}

// HTTPResult is what the call answered: its status and the output fields.
type HTTPResult struct {
	Status int            `json:"status"`
	Output map[string]any `json:"output,omitempty"`
}

// maxResponse caps how much of a response is read.
const maxResponse = 1 << 20

// CallHTTP makes an http step's request. An expected status (any 2xx when the
// step names none) succeeds and its output fields are read from the JSON
// response; 408, 429 and 5xx are transient and retried; any other status, or a
// request that cannot be made, fails for good.
func (a *Activities) CallHTTP(ctx context.Context, in HTTPInput) (HTTPResult, error) {
	if !incidentflow.IsWebURL(in.URL) {
		return HTTPResult{}, temporalError(incidentflow.Errorf(incidentflow.EPERMANENT, "the url %q is not an absolute http or https URL", in.URL))
	}
	u, _ := url.Parse(in.URL) // IsWebURL parsed it
	var body io.Reader
	if in.Body != nil {
		b, err := json.Marshal(in.Body)
		if err != nil {
			return HTTPResult{}, temporalError(incidentflow.Errorf(incidentflow.EPERMANENT, "encode the request body: %v", err))
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, in.Method, u.String(), body)
	if err != nil {
		return HTTPResult{}, temporalError(incidentflow.Errorf(incidentflow.EPERMANENT, "build the request: %v", err))
	}
	req.Header.Set("User-Agent", "incidentflow")
	req.Header.Set("Idempotency-Key", in.Key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range in.Headers {
		req.Header.Set(k, v)
	}
	for k, env := range in.SecretHeaders {
		if !strings.HasPrefix(env, dsl.SecretEnvPrefix) { // a process validated before the rule
			return HTTPResult{}, temporalError(incidentflow.Errorf(incidentflow.EPERMANENT,
				"the %s header names %s, which is not a variable meant for secret_headers (they start with %s)", k, env, dsl.SecretEnvPrefix))
		}
		v := ""
		if a.Secrets != nil {
			v = a.Secrets(env)
		}
		if v == "" {
			return HTTPResult{}, temporalError(incidentflow.Errorf(incidentflow.EPERMANENT, "the worker has no environment variable %s for the %s header", env, k))
		}
		req.Header.Set(k, v)
	}
	client := a.HTTP
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	where := fmt.Sprintf("%s %s", in.Method, u.Redacted())
	resp, err := client.Do(req)
	if err != nil {
		return HTTPResult{}, fmt.Errorf("%s: %w", where, err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return HTTPResult{}, fmt.Errorf("%s: read the response: %w", where, err)
	}
	code := resp.StatusCode
	ok := slices.Contains(in.Expect, code) || (len(in.Expect) == 0 && code >= 200 && code < 300)
	if !ok {
		snippet := strings.TrimSpace(string(raw[:min(len(raw), 300)]))
		if code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500 {
			return HTTPResult{}, fmt.Errorf("%s answered %d: %s", where, code, snippet)
		}
		err := incidentflow.Errorf(incidentflow.EPERMANENT, "%s answered %d: %s", where, code, snippet)
		a.event(ctx, in.Ref, in.Step, in.Key+"/failed", "http_failed", err.Message)
		return HTTPResult{}, temporalError(err)
	}
	res := HTTPResult{Status: code, Output: map[string]any{}}
	if len(in.Output) > 0 {
		var doc any
		if err := json.Unmarshal(raw, &doc); err != nil {
			err := incidentflow.Errorf(incidentflow.EPERMANENT, "%s answered %d with a body that is not JSON, so its output cannot be read", where, code)
			a.event(ctx, in.Ref, in.Step, in.Key+"/failed", "http_failed", err.Message)
			return HTTPResult{}, temporalError(err)
		}
		for name, path := range in.Output {
			v := jsonPath(doc, path)
			// An output lives in the run's state for the rest of the
			// incident: a whole document there would swell every answer.
			if b, _ := json.Marshal(v); len(b) > incidentflow.MaxPayload {
				err := incidentflow.Errorf(incidentflow.EPERMANENT, "%s answered with a %s field of %d bytes for the output %s; an output holds at most %d: name a smaller field of the response",
					where, path, len(b), name, incidentflow.MaxPayload)
				a.event(ctx, in.Ref, in.Step, in.Key+"/failed", "http_failed", err.Message)
				return HTTPResult{}, temporalError(err)
			}
			res.Output[name] = v
		}
	}
	a.event(ctx, in.Ref, in.Step, in.Key+"/done", "http_called", fmt.Sprintf("%s answered %d", where, code))
	return res, nil
}

// jsonPath reads a.b.c (and list indexes, a.0.b) from a decoded JSON value;
// a missing field is nil.
func jsonPath(doc any, path string) any {
	for _, part := range strings.Split(path, ".") {
		switch v := doc.(type) {
		case map[string]any:
			doc = v[part]
		case []any:
			var i int
			if _, err := fmt.Sscanf(part, "%d", &i); err != nil || i < 0 || i >= len(v) {
				return nil
			}
			doc = v[i]
		default:
			return nil
		}
	}
	return doc
}
