package api_test

// Attacks on Idempotency-Keys the API withstood.

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// After a 503 (the run took the note after the API's wait), many resends
// at once under the key: the note is on the timeline once; each resend is
// answered 200 with the outcome, or 409 while another is being answered;
// resends with another body are 422, before and after.
func TestAttackConcurrentResendsAfterA503(t *testing.T) {
	s := setup(t)
	ref := s.declare(t, `{"type":"engineering","title":"Resends at once","severity":"minor","fields":{"service":"checkout"}}`).str("ref")
	st := &scriptedTemporal{flakyTemporal: s.temporal, script: []fate{held}, entered: make(chan struct{}), done: make(chan struct{})}
	a := newAttackServer(t, st, s.store)
	key := uniqueKey("resends")
	body := `{"text":"paused the batch jobs"}`
	first := a.must(t, "POST", "/v1/incidents/"+ref+"/notes", body, s.as(t, "alice", "Idempotency-Key", key)...)
	require.Equal(t, http.StatusServiceUnavailable, first.status, first.raw)
	<-st.done
	var mu sync.Mutex
	codes := map[string]int{}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			b, what := body, "same"
			switch i % 4 {
			case 1:
				b = "{ \"text\" : \"paused the batch jobs\" }\n" // the same, written another way
			case 3:
				b, what = fmt.Sprintf(`{"text":"paused the batch jobs %d"}`, i), "other"
			}
			r := a.must(t, "POST", "/v1/incidents/"+ref+"/notes", b, s.as(t, "alice", "Idempotency-Key", key)...)
			mu.Lock()
			codes[fmt.Sprintf("%s %d", what, r.status)]++
			mu.Unlock()
		})
	}
	wg.Wait()
	require.Equal(t, 4, codes["other 422"], "%v", codes)
	require.Equal(t, 12, codes["same 200"]+codes["same 409"], "%v", codes)
	require.GreaterOrEqual(t, codes["same 200"], 1, "%v", codes)
	n, msgs := s.timelineKinds(t, ref, "note")
	require.Equal(t, 1, n, "%v", msgs)
	// A key belongs to its caller and its route.
	other := a.must(t, "POST", "/v1/incidents/"+ref+"/status", `{"status":"fixing"}`, s.as(t, "alice", "Idempotency-Key", key)...)
	require.Equal(t, http.StatusUnprocessableEntity, other.status, other.raw)
	bobs := a.must(t, "POST", "/v1/incidents/"+ref+"/notes", body, s.as(t, "bob", "Idempotency-Key", key)...)
	require.Equal(t, http.StatusOK, bobs.status, bobs.raw)
	require.Empty(t, bobs.header.Get("Idempotent-Replayed"))
	n, msgs = s.timelineKinds(t, ref, "note")
	require.Equal(t, 2, n, "bob's note under the same key is his own: %v", msgs)
}
