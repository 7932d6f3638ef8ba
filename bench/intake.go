package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// burst declares n incidents at once — as many requests in flight as
// there are incidents, up to 100 — and times each from its declaration to
// its first page reaching the receiver.
func (b *runner) burst(ctx context.Context, n int) (Latency, error) {
	var mu sync.Mutex
	var ds []time.Duration
	var refs []string
	var firstErr error
	start := time.Now()
	forEach(ctx, n, min(n, 100), time.Time{}, func(int) {
		t := time.Now()
		ref, err := b.declare(ctx, "bench")
		if err == nil {
			err = b.env.Hook.Wait(ctx, ref, "page", 2*time.Minute)
		}
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			firstErr = cmpErr(firstErr, err)
			return
		}
		ds = append(ds, time.Since(t))
		refs = append(refs, ref)
	})
	l := latency(ds, n-len(ds), time.Since(start))
	b.closeAll(ctx, refs)
	if firstErr != nil {
		return l, fmt.Errorf("%d of %d incidents were not paged: %w", n-len(ds), n, firstErr)
	}
	return l, nil
}

// alerts sends alert intake Alertmanager notifications of AlertGroup alerts
// each, every fingerprint AlertRepeats times in different notifications
// (as Alertmanager's peers and repeat intervals do), at the benchmark's
// concurrency, and checks the grouping: one incident per fingerprint,
// whatever the order and the concurrency.
func (b *runner) alerts(ctx context.Context) (*Alerts, error) {
	o := b.o
	prints := max(1, o.Alerts/o.AlertRepeats)
	run := time.Now().UnixNano()
	var payloads [][]byte
	for rep := range o.AlertRepeats {
		for first := 0; first < prints; first += o.AlertGroup {
			var alerts []map[string]any
			for i := first; i < min(first+o.AlertGroup, prints); i++ {
				// Repeats carry a later start, as a re-fire would.
				alerts = append(alerts, map[string]any{"status": "firing", "fingerprint": fmt.Sprintf("%x-%d", run, i),
					"labels":      map[string]string{"alertname": fmt.Sprintf("BenchAlert%d", i), "severity": "critical"},
					"annotations": map[string]string{"summary": fmt.Sprintf("Bench alert %d", i)},
					"startsAt":    time.Now().Add(time.Duration(rep) * time.Second).UTC().Format(time.RFC3339)})
			}
			body, err := json.Marshal(map[string]any{"version": "4", "status": "firing", "receiver": "incidentflow", "alerts": alerts})
			if err != nil {
				return nil, err
			}
			payloads = append(payloads, body)
		}
	}
	var mu sync.Mutex
	var ds []time.Duration
	var firstErr error
	incidents := map[string]bool{}
	start := time.Now()
	forEach(ctx, len(payloads), o.Concurrency, time.Time{}, func(i int) {
		// The repeats of a fingerprint are spread over the run, so that
		// some meet while its first notification is being declared.
		j := (i%o.AlertRepeats)*(len(payloads)/o.AlertRepeats) + i/o.AlertRepeats
		var out struct {
			Results []struct{ Ref string } `json:"results"`
		}
		t := time.Now()
		_, err := b.call(ctx, http.MethodPost, "/v1/alerts/alertmanager?type=quiet", json.RawMessage(payloads[j%len(payloads)]), &out)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			firstErr = cmpErr(firstErr, err)
			return
		}
		ds = append(ds, time.Since(t))
		for _, r := range out.Results {
			incidents[r.Ref] = true
		}
	})
	elapsed := time.Since(start)
	res := &Alerts{Notifications: len(payloads), Fingerprints: prints, Incidents: len(incidents), Latency: latency(ds, len(payloads)-len(ds), elapsed)}
	sent := 0
	for _, p := range payloads {
		var n struct{ Alerts []any }
		_ = json.Unmarshal(p, &n)
		sent += len(n.Alerts)
	}
	res.Alerts, res.PerSecond = sent, float64(sent)/elapsed.Seconds()
	if firstErr == nil && o.BigPayload > 0 {
		firstErr = b.bigPayload(ctx, res, run, incidents)
	}
	refs := make([]string, 0, len(incidents))
	for ref := range incidents {
		refs = append(refs, ref)
	}
	b.closeAll(ctx, refs)
	if firstErr != nil {
		return res, firstErr
	}
	return res, nil
}

// bigPayload sends one notification of BigPayload alerts, each its own
// fingerprint, as an Alertmanager group of a whole cluster's alerts would
// be, and times its answer.
func (b *runner) bigPayload(ctx context.Context, res *Alerts, run int64, incidents map[string]bool) error {
	alerts := make([]map[string]any, b.o.BigPayload)
	for i := range alerts {
		alerts[i] = map[string]any{"status": "firing", "fingerprint": fmt.Sprintf("%x-big-%d", run, i),
			"labels":   map[string]string{"alertname": fmt.Sprintf("BigAlert%d", i), "severity": "critical"},
			"startsAt": time.Now().UTC().Format(time.RFC3339)}
	}
	body, err := json.Marshal(map[string]any{"version": "4", "status": "firing", "receiver": "incidentflow", "alerts": alerts})
	if err != nil {
		return err
	}
	var out struct {
		Results []struct{ Ref string } `json:"results"`
	}
	start := time.Now()
	if _, err := b.call(ctx, http.MethodPost, "/v1/alerts/alertmanager?type=quiet", json.RawMessage(body), &out); err != nil {
		return fmt.Errorf("one notification of %d alerts: %w", b.o.BigPayload, err)
	}
	res.BigPayload, res.BigSeconds = b.o.BigPayload, time.Since(start).Seconds()
	big := map[string]bool{}
	for _, r := range out.Results {
		big[r.Ref], incidents[r.Ref] = true, true
	}
	res.BigIncidents = len(big)
	// The answer comes once the incidents are recorded; their runs start
	// behind it, and are timed to the last.
	// The oldest unstarted incident is asked for, every half second (a
	// list of thousands each time would take the database from the starts).
	for res.BigUnstarted = len(big); time.Since(start) < bigStartLimit; time.Sleep(500 * time.Millisecond) {
		oldest, err := b.env.Store.UnstartedIncidents(ctx, time.Now(), 1)
		if err != nil {
			return err
		}
		if len(oldest) == 0 {
			res.BigUnstarted = 0
			break
		}
		if !big[oldest[0].Ref] { // another measurement's: count the notification's own
			if res.BigUnstarted, err = b.unstarted(ctx, big); err != nil || res.BigUnstarted == 0 {
				break
			}
		}
	}
	res.BigStarted = time.Since(start).Seconds()
	if res.BigUnstarted > 0 {
		var err error
		res.BigUnstarted, err = b.unstarted(ctx, big)
		return err
	}
	return nil
}

// unstarted counts the refs whose incident's run has not started.
func (b *runner) unstarted(ctx context.Context, refs map[string]bool) (int, error) {
	left, err := b.env.Store.UnstartedIncidents(ctx, time.Now(), len(refs)+1000)
	n := 0
	for _, inc := range left {
		if refs[inc.Ref] {
			n++
		}
	}
	return n, err
}

// bigStartLimit is how long the runs of one big notification may take to start.
const bigStartLimit = 5 * time.Minute
