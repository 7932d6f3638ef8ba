package bench

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// Load is what people meet while a flood of declarations is worked
// through: reading an incident, and acting on one.
type Load struct {
	// Declarations are the flood's, timed to their answers; then every
	// incident they opened is closed, under the same watch.
	Declarations Latency `json:"declarations"`
	// Reads are GET /v1/incidents/{ref} of other incidents meanwhile,
	// served from the store; LiveReads the same with ?live=true, asking
	// the runs. Without counts the answers without the run's state.
	Reads       Latency `json:"reads"`
	LiveReads   Latency `json:"live_reads"`
	Without     int     `json:"reads_without_state"`
	LiveWithout int     `json:"live_reads_without_state"`
	// Actions are acknowledgements and status changes of those incidents;
	// Waits says where their time went.
	Actions Latency      `json:"actions"`
	Waits   *ActionWaits `json:"action_waits,omitempty"`
}

// loadTargets is how many incidents people read and act on under load.
const loadTargets = 20

// load declares o.Load incidents at o.Concurrency and closes them, while
// two readers read other incidents (one from the store, one asking the
// runs) and one person acts on them, a step every 100 ms: their latencies
// are what a person would see.
func (b *runner) load(ctx context.Context) (*Load, error) {
	targets := make([]string, loadTargets)
	for i := range targets {
		ref, err := b.declare(ctx, "quiet")
		if err != nil {
			return nil, err
		}
		targets[i] = ref
	}
	defer b.closeAll(ctx, targets)

	var (
		mu                sync.Mutex
		reads             [2][]time.Duration
		readErrs, without [2]int
		acts              []action
		actErrs           int
		stop              = make(chan struct{})
		watchers          sync.WaitGroup
		out               Load
		firstErr          error
		firstReadErr      [2]error
	)
	for r, query := range []string{"", "?live=true"} {
		watchers.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var inc struct {
					State      map[string]any `json:"state"`
					StateError string         `json:"state_error"`
				}
				t := time.Now()
				_, err := b.call(ctx, http.MethodGet, "/v1/incidents/"+targets[i%len(targets)]+query, nil, &inc)
				d := time.Since(t)
				mu.Lock()
				if err != nil {
					readErrs[r]++
					firstReadErr[r] = cmpErr(firstReadErr[r], err)
				} else {
					reads[r] = append(reads[r], d)
					if inc.State == nil {
						without[r]++
					}
				}
				mu.Unlock()
			}
		})
	}
	watchers.Go(func() {
		statuses := []string{"fixing", "investigating"}
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			// Each acknowledged first, then moved between two statuses.
			target, round := i%len(targets), i/len(targets)
			ref := targets[target]
			path, body := "/v1/incidents/"+ref+"/status", map[string]any{"status": statuses[(round+1)%2]}
			if round == 0 {
				path, body = "/v1/incidents/"+ref+"/acknowledge", map[string]any{}
			}
			t := time.Now()
			header, _, err := b.exchange(ctx, http.MethodPost, path, body, nil)
			back := time.Now()
			mu.Lock()
			if err != nil {
				actErrs++
				firstErr = cmpErr(firstErr, err)
			} else {
				acts = append(acts, timedAction(target, t, back, header))
			}
			mu.Unlock()
		}
	})

	start := time.Now()
	ds, refs, errs, floodErr := b.declareMany(ctx, "bench", b.o.Load, b.o.Concurrency, start.Add(2*b.o.MaxDuration))
	out.Declarations = latency(ds, errs, time.Since(start))
	b.closeAll(ctx, refs)
	close(stop)
	watchers.Wait()
	elapsed := time.Since(start)
	out.Reads, out.Without = latency(reads[0], readErrs[0], elapsed), without[0]
	out.LiveReads, out.LiveWithout = latency(reads[1], readErrs[1], elapsed), without[1]
	took := make([]time.Duration, len(acts))
	for i, a := range acts {
		took[i] = a.back.Sub(a.sent)
	}
	out.Actions = latency(took, actErrs, elapsed)
	if len(ds) == 0 {
		return &out, floodErr
	}
	out.Waits = b.actionWaits(ctx, targets, acts)
	for r, what := range []string{"reads", "live reads"} {
		if readErrs[r] > 0 {
			b.o.Log("load: %d of %d %s failed, the first: %v", readErrs[r], readErrs[r]+len(reads[r]), what, firstReadErr[r])
		}
	}
	if actErrs > 0 {
		b.o.Log("load: %d of %d actions failed, the first: %v", actErrs, actErrs+len(acts), firstErr)
	}
	return &out, nil
}
