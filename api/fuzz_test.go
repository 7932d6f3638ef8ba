package api_test

import (
	"encoding/json"
	"net/http"
	"testing"
)

// FuzzDeclare sends arbitrary bodies to POST /v1/incidents on the real stack:
// whatever arrives, the answer is never a 500, and a refusal always has the
// one error shape with a message. Run it with: go test -fuzz FuzzDeclare ./api/
func FuzzDeclare(f *testing.F) {
	for _, seed := range []string{
		`{"type":"engineering","title":"Checkout is down","severity":"critical"}`,
		`{"type":"security","title":"x","severity":"minor","fields":{"affected_users":1e400}}`,
		`{"type":"privacy","title":"x","severity":"high","fields":{"aware_at":"2026-02-30T25:00:00Z"}}`,
		`{"type":"engineering","title":"\u0000\u202e","severity":"critical","fields":null}`,
		`{"type":["engineering"],"title":{},"severity":7}`,
		`[{"type":"engineering"}]`,
		`{"type":"engineering","title":"a","severity":"critical"}{"again":true}`,
		`{"fields":{"service":{"nested":{"deeply":[1,2,3]}}}}`,
		"\xff\xfe{",
		``,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		s := setup(t)
		r := s.do(t, "POST", "/v1/incidents", body)
		if r.status >= 500 {
			t.Fatalf("%d for %q: %s", r.status, body, r.raw)
		}
		if r.status >= 400 {
			var e struct {
				Error struct {
					Code    string            `json:"code"`
					Message string            `json:"message"`
					Details []json.RawMessage `json:"details"`
				} `json:"error"`
			}
			if err := json.Unmarshal([]byte(r.raw), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" || e.Error.Details == nil {
				t.Fatalf("refusal without the error shape for %q: %s", body, r.raw)
			}
		} else if r.status != http.StatusCreated && r.status != http.StatusOK && r.status != http.StatusAccepted {
			t.Fatalf("unexpected %d for %q", r.status, body)
		}
	})
}
