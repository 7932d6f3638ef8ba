package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// --worker-cache-size reaches the Temporal SDK: with room for 3 runs, a
// worker holding 8 open incidents keeps at most 3 in memory and evicts the
// rest (the SDK's own metrics say so), and an evicted run still wakes for a
// person's action.
func TestWorkerCacheSizeReachesTheSDK(t *testing.T) {
	d := startDevWith(t, t.TempDir(), []string{freeAddr(t), freeAddr(t), freeAddr(t)}, []string{"--worker-cache-size", "3"})
	var refs []string
	for range 8 {
		code, inc := d.call(t, "POST", "/v1/incidents", `{"type":"operational","title":"Refund batch ran twice","severity":"major"}`)
		require.Equal(t, http.StatusCreated, code, inc)
		ref := inc["ref"].(string)
		waitActive(t, d, ref, "Wait for an owner")
		refs = append(refs, ref)
	}
	size, evicted := stickyCache(t, d)
	require.LessOrEqual(t, size, 3.0, "runs held in the worker's cache")
	require.GreaterOrEqual(t, evicted, 5.0, "runs evicted to keep it at 3")

	code, body := d.call(t, "POST", "/v1/incidents/"+refs[0]+"/acknowledge", `{}`)
	require.Equal(t, http.StatusOK, code, "the first run, long evicted, wakes: %v", body)
}

// stickyCache reads the SDK's sticky cache gauge and eviction counter from
// dev's /metrics.
func stickyCache(t *testing.T, d *devProcess) (size, evicted float64) {
	t.Helper()
	req, err := http.NewRequest("GET", "http://"+d.api+"/metrics", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	seen := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(string(raw)))
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") {
			continue
		}
		name, _, _ = strings.Cut(name, "{")
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		require.NoError(t, err, sc.Text())
		switch name {
		case "temporal_sticky_cache_size":
			size = max(size, v)
		case "temporal_sticky_cache_total_forced_eviction_total":
			evicted += v
		default:
			continue
		}
		seen[name] = true
	}
	require.Len(t, seen, 2, "the SDK's sticky cache metrics in:\n%s", raw)
	return size, evicted
}

// A cache size that is not a whole number of 0 or more is refused with the
// setting named, from the flag or from its environment twin.
func TestWorkerCacheSizeConfig(t *testing.T) {
	for _, c := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"worker", "--worker-cache-size", "-2"}, nil, "--worker-cache-size -2 must be 0 or more runs"},
		{[]string{"dev", "--worker-cache-size", "-1"}, nil, "--worker-cache-size -1 must be 0 or more runs"},
		{[]string{"worker"}, map[string]string{"INCIDENTFLOW_WORKER_CACHE_SIZE": "lots"}, `INCIDENTFLOW_WORKER_CACHE_SIZE "lots" must be a whole number`},
		{[]string{"bench"}, map[string]string{"INCIDENTFLOW_WORKER_CACHE_SIZE": "-5"}, "--worker-cache-size -5 must be 0 or more runs"},
	} {
		err := run(context.Background(), c.args, func(k string) string { return c.env[k] }, io.Discard, io.Discard)
		require.ErrorContains(t, err, c.want, "%v %v", c.args, c.env)
	}
}
