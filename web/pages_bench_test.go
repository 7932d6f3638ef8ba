package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/api"
	"github.com/incidentflow/incidentflow/store"
)

// benchIncidents is how many incidents the store holds while the pages are
// measured: a few years of a large organisation's.
const benchIncidents = 10_000

// BenchmarkPages is the server time of the pages people open most — an
// incident (its record and its run's live state), the incidents list, My
// work, the deadlines and the insights — with 10,000 incidents in the
// store, on the embedded stack as dev runs it: SQLite, the embedded
// Temporal server, the worker. Each sub-benchmark reports its p50 and p95
// besides the mean; BENCHMARKS.md quotes them.
//
//	go test -run xxx -bench BenchmarkPages -benchtime 200x ./web/
func BenchmarkPages(b *testing.B) {
	h, err := startHoleStack(b, "sqlite:"+filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	ref := h.benchDeclare(b, "alice", api.DeclareRequest{Type: "outage", Title: "Checkout is down", Severity: "minor", Fields: map[string]any{"service": "checkout"}})
	secret := h.benchDeclare(b, "dan", api.DeclareRequest{Type: "breach", Title: "Laptop lost", Severity: "high"})
	seed(b, h.store, benchIncidents, ref, secret)

	srv := httptest.NewServer(New(Config{App: h.app, Store: h.store, Links: h.signer}).Handler())
	b.Cleanup(srv.Close)
	id, _, err := h.store.CreateSession(ctx, "alice", time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	for _, page := range []string{"/incidents/" + ref, "/incidents", "/incidents?state=open&q=checkout", "/", "/deadlines", "/insights"} {
		b.Run(page, func(b *testing.B) {
			var took []time.Duration
			for b.Loop() {
				req, _ := http.NewRequest("GET", srv.URL+page, nil)
				req.AddCookie(&http.Cookie{Name: "incidentflow-session", Value: id})
				start := time.Now()
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				took = append(took, time.Since(start))
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("%s answered %d", page, resp.StatusCode)
				}
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(took[len(took)*95/100].Microseconds())/1000, "p95-ms")
		})
	}
}

// benchDeclare declares an incident as person, through the API.
func (h *holeStack) benchDeclare(b *testing.B, person string, req api.DeclareRequest) string {
	who, err := h.app.Principal(incidentflow.PersonPrincipal, person, incidentflow.RoleResponder)
	if err != nil {
		b.Fatal(err)
	}
	inc, _, err := h.app.DeclareAs(context.Background(), who, req, "")
	if err != nil {
		b.Fatal(err)
	}
	return inc.Ref
}

// seed fills the store with n incidents like the ones of like (an
// outage, and a breach, which is restricted), spread over two years as
// the recorder would have left them: most acknowledged and closed, a few
// still open.
func seed(b *testing.B, st *store.Store, n int, like ...string) {
	ctx := context.Background()
	var kinds []incidentflow.Incident
	for _, ref := range like {
		inc, err := st.Incident(ctx, ref)
		if err != nil {
			b.Fatal(err)
		}
		kinds = append(kinds, inc)
	}
	start := time.Now().Add(-2 * 365 * 24 * time.Hour)
	for i := range n {
		at := start.Add(time.Duration(i) * 2 * 365 * 24 * time.Hour / time.Duration(n))
		k := kinds[0]
		if i%4 == 3 {
			k = kinds[len(kinds)-1]
		}
		typ := k.Type
		inc, _, err := st.CreateIncident(ctx, incidentflow.Incident{Type: typ, Title: fmt.Sprintf("Seeded incident %d", i), Severity: k.Severity,
			Status: "triage", Fields: k.Fields, ProcessHash: k.ProcessHash, DeclaredBy: "seed", DeclaredAt: at, Restricted: k.Restricted})
		if err != nil {
			b.Fatal(err)
		}
		if i%50 == 0 {
			continue // still open
		}
		acked := at.Add(time.Duration(1+i%30) * time.Minute)
		if err := st.ApplyChange(ctx, incidentflow.Change{Ref: inc.Ref, Type: typ, DeclaredAt: at, Status: "closed", AcknowledgedAt: &acked,
			AcknowledgedBy: "bob", At: acked.Add(time.Duration(1+i%12) * time.Hour)}); err != nil {
			b.Fatal(err)
		}
	}
}
