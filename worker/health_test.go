package worker

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestHandler(t *testing.T) {
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("# metrics\n")) })
	down := errors.New("dial tcp: connection refused")
	for _, tc := range []struct {
		name     string
		path     string
		database error
		want     int
		body     string
	}{
		{"Metrics", "/metrics", nil, http.StatusOK, "# metrics"},
		{"MetricsAtRoot", "/", nil, http.StatusOK, "# metrics"},
		{"Healthy", HealthPath, down, http.StatusOK, "ok"},
		{"Ready", ReadyPath, nil, http.StatusOK, "ready"},
		{"ErrNotReadyNamesTheCheck", ReadyPath, down, http.StatusServiceUnavailable, "database unreachable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := Handler(metrics, map[string]func(context.Context) error{
				"database": func(context.Context) error { return tc.database },
				"temporal": func(context.Context) error { return nil },
			})
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.path, nil))
			require.Equal(t, tc.want, rec.Code)
			require.Equal(t, tc.body, strings.TrimSpace(rec.Body.String()))
			require.NotContains(t, rec.Body.String(), "connection refused", "no internal error text")
		})
	}
}
