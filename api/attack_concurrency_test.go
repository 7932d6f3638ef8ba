package api_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// Identical changes sent at once, under one Idempotency-Key and under
// many, and one key with many bodies: each change is on the timeline
// once, and every other request is answered for a reason.
func TestAttackConcurrentIdenticalChanges(t *testing.T) {
	s := setup(t)
	ref := s.declare(t, `{"type":"operational","title":"At once","severity":"major","fields":{"customers_affected":40}}`).str("ref")
	s.requireRunning(t, ref)
	burst := func(n int, send func(i int) response) map[int]int {
		var mu sync.Mutex
		codes := map[int]int{}
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				r := send(i)
				mu.Lock()
				codes[r.status]++
				mu.Unlock()
			})
		}
		wg.Wait()
		return codes
	}
	key := uniqueKey("same")
	codes := burst(12, func(int) response {
		return s.do(t, "POST", "/v1/incidents/"+ref+"/acknowledge", `{}`, s.as(t, "alice", "Idempotency-Key", key)...)
	})
	require.Equal(t, 12, codes[200]+codes[409], "%v", codes)
	require.GreaterOrEqual(t, codes[200], 1, "%v", codes)
	n, msgs := s.timelineKinds(t, ref, "acknowledged")
	require.Equal(t, 1, n, "%v", msgs)

	codes = burst(12, func(i int) response {
		return s.do(t, "POST", "/v1/incidents/"+ref+"/status", `{"status":"fixing"}`, s.as(t, "bob", "Idempotency-Key", fmt.Sprintf("%s-%d", key, i))...)
	})
	require.Equal(t, 1, codes[200], "%v", codes)
	require.Equal(t, 11, codes[409]+codes[429], "%v", codes)
	_, msgs = s.timelineKinds(t, ref, "status_changed")
	fixing := 0
	for _, m := range msgs {
		if strings.Contains(m, "→ fixing") {
			fixing++
		}
	}
	require.Equal(t, 1, fixing, "%v", msgs)

	other := uniqueKey("bodies")
	codes = burst(12, func(i int) response {
		return s.do(t, "POST", "/v1/incidents/"+ref+"/notes", fmt.Sprintf(`{"text":"note %d"}`, i), s.as(t, "bob", "Idempotency-Key", other)...)
	})
	require.Equal(t, 1, codes[200], "%v", codes)
	require.Equal(t, 11, codes[409]+codes[422], "%v", codes)
	n, msgs = s.timelineKinds(t, ref, "note")
	require.Equal(t, 1, n, "%v", msgs)

	codes = burst(12, func(i int) response {
		return s.do(t, "PATCH", "/v1/incidents/"+ref+"/fields", `{"fields":{"customers_affected":77}}`, s.as(t, "carol", "Idempotency-Key", fmt.Sprintf("%s-f%d", key, i))...)
	})
	require.Equal(t, 1, codes[200], "%v", codes)
	n, msgs = s.timelineKinds(t, ref, "fields_changed")
	require.Equal(t, 1, n, "%v", msgs)
	require.True(t, strings.Contains(msgs[0], "77"), "%v", msgs)
}
