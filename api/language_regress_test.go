package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Tests from review (rev3) of changing fields as an incident runs.

// Forty people change the count of affected customers at once, each to a
// value of their own: every change the API accepts is on the timeline
// once, each from the value the one before left, in the order the run
// made them, ending where the run is. Today the timeline often tells
// another story ("1 → 1019, 1019 → 1000, …, 1 → 1001"): the recorder's
// local activity writes a change during a workflow task that Temporal
// then does not keep (the updates come again, in another order), and the
// event's key, the update's ID, makes the write of the kept task a no-op,
// so the record keeps the from-values of a run that never happened. It
// is a race: this fails on most runs, not all.
func TestFieldChangesRacingAreEachRecordedOnce(t *testing.T) {
	s := setup(t)
	ref := s.declare(t, `{"type":"operational","title":"Refunds sent twice","severity":"major","fields":{"customers_affected":1}}`).str("ref")
	s.requireRunning(t, ref)
	base := "/v1/incidents/" + ref
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := s.do(t, "PATCH", base+"/fields", fmt.Sprintf(`{"fields":{"customers_affected":%d}}`, 1000+i), s.as(t, "bob", "Idempotency-Key", fmt.Sprintf("race-%s-%d", ref, i))...)
			mu.Lock()
			statuses[r.status]++
			mu.Unlock()
			require.Contains(t, []int{http.StatusOK, http.StatusTooManyRequests}, r.status, r.raw)
		}()
	}
	wg.Wait()
	live := s.do(t, "GET", base+"?live=true", "")
	run := fmt.Sprint(live.body["state"].(map[string]any)["fields"].(map[string]any)["customers_affected"])
	require.Eventually(t, func() bool {
		got := s.do(t, "GET", base, "")
		return fmt.Sprint(got.body["fields"].(map[string]any)["customers_affected"]) == run
	}, 10*time.Second, 100*time.Millisecond, "the incident's record ends with the run's value, %s", run)
	// A workflow task Temporal did not keep may have written first; what the
	// kept one writes wins, as the run goes on.
	var chain []string
	story := func() (ok bool, why string) {
		tl := s.do(t, "GET", base+"/timeline", "")
		chain = nil
		for _, e := range tl.body["events"].([]any) {
			if ev := e.(map[string]any); ev["kind"] == "fields_changed" {
				chain = append(chain, strings.TrimSuffix(strings.TrimPrefix(ev["message"].(string), "Customers affected "), " by bob"))
			}
		}
		if len(chain) != statuses[http.StatusOK] {
			return false, fmt.Sprintf("one change on the timeline per change accepted (%v)", statuses)
		}
		prev := "1"
		for _, c := range chain {
			from, to, _ := strings.Cut(c, " → ")
			if from != prev {
				return false, "each change on the timeline starts from the value the one before left"
			}
			prev = to
		}
		return prev == run, "the timeline ends where the run is, " + run
	}
	deadline := time.Now().Add(15 * time.Second)
	for ok, why := story(); !ok; ok, why = story() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", why, chain)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
