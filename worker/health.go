package worker

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"time"
)

// Paths the worker's HTTP server answers besides its metrics: probes for
// Kubernetes and other supervisors.
const (
	// HealthPath answers 200 while the process serves at all (liveness).
	HealthPath = "/healthz"
	// ReadyPath answers 200 when every readiness check passes, else 503
	// naming the ones that failed.
	ReadyPath = "/readyz"
)

// Handler serves metrics at / and /metrics, liveness at HealthPath and
// readiness at ReadyPath, where each named check must pass within three
// seconds (the database, Temporal).
func Handler(metrics http.Handler, checks map[string]func(context.Context) error) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", metrics)
	mux.Handle("/metrics", metrics)
	mux.HandleFunc(HealthPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc(ReadyPath, func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		var failed []string
		for name, check := range checks {
			if err := check(ctx); err != nil {
				failed = append(failed, name+" unreachable")
			}
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if len(failed) > 0 {
			sort.Strings(failed)
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(strings.Join(failed, ", ") + "\n"))
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	return mux
}
