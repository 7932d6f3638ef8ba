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

// Many people change one incident at once — roles, notes (with and
// without keys, keyed ones sent twice at once), acknowledgements,
// fields, statuses, severity — and then complete its task and approve its
// message together. The timeline has one event for each change answered
// 200, none for a change refused, and the run's recent events in the order
// the timeline has them.
func TestAttackStormOfChangesLeavesTheTimelineRight(t *testing.T) {
	s := setup(t)
	ref := s.declare(t, `{"type":"operational","title":"Storm","severity":"minor","fields":{"customers_affected":40}}`).str("ref")
	s.requireRunning(t, ref)
	type result struct {
		kind, note string
		status     int
		raw        string
	}
	var mu sync.Mutex
	var results []result
	var wg sync.WaitGroup
	fire := func(kind, note, method, path, body string, headers []string) {
		wg.Go(func() {
			r := s.do(t, method, path, body, headers...)
			mu.Lock()
			results = append(results, result{kind, note, r.status, r.raw})
			mu.Unlock()
		})
	}
	base := "/v1/incidents/" + ref
	people := []string{"alice", "bob", "carol", "dan", "frank", "erin"}
	for i, p := range people {
		fire("role_assigned", "", "POST", base+"/roles", fmt.Sprintf(`{"role":"owner","person":%q}`, people[(i+1)%len(people)]), s.as(t, p))
		fire("acknowledged", "", "POST", base+"/acknowledge", `{}`, s.as(t, p))
		text := fmt.Sprintf("storm note %d by %s", i, p)
		fire("note", text, "POST", base+"/notes", fmt.Sprintf(`{"text":%q}`, text), s.as(t, p))
		keyed := text + " (keyed)"
		key := uniqueKey("storm-" + p)
		for range 2 {
			fire("note", keyed, "POST", base+"/notes", fmt.Sprintf(`{"text":%q}`, keyed), s.as(t, p, "Idempotency-Key", key))
		}
		fire("fields_changed", "", "PATCH", base+"/fields", fmt.Sprintf(`{"fields":{"customers_affected":%d}}`, 50+i), s.as(t, p, "Idempotency-Key", uniqueKey("f")))
		fire("status_changed", "", "POST", base+"/status", fmt.Sprintf(`{"status":%q}`, []string{"fixing", "monitoring", "investigating"}[i%3]), s.as(t, p))
		fire("severity_changed", "", "POST", base+"/severity", fmt.Sprintf(`{"severity":%q}`, []string{"major", "minor"}[i%2]), s.as(t, p))
	}
	wg.Wait()

	// The task, once the owner holds it, and the approval.
	var task string
	require.Eventually(t, func() bool {
		r := s.do(t, "GET", base+"/tasks", "")
		tasks, _ := r.body["tasks"].([]any)
		if len(tasks) == 0 {
			return false
		}
		task, _ = tasks[0].(map[string]any)["id"].(string)
		return task != ""
	}, 20*time.Second, 100*time.Millisecond)
	for i, p := range people {
		h := s.as(t, p)
		if i%2 == 0 {
			h = s.as(t, p, "Idempotency-Key", uniqueKey("task"))
		}
		fire("task_done", "", "POST", "/v1/tasks/"+task+"/complete", `{}`, h)
	}
	wg.Wait()
	var last response
	defer func() {
		if t.Failed() {
			for _, r := range results {
				t.Logf("%s %d %.300s", r.kind, r.status, r.raw)
			}
			t.Logf("%.4000s", last.raw)
		}
	}()
	require.Eventually(t, func() bool {
		last = s.do(t, "GET", base, "")
		return strings.Contains(last.raw, `"step":"Approve the message to customers"`)
	}, 20*time.Second, 100*time.Millisecond, "the approval is asked for")
	for range 4 {
		fire("approved", "", "POST", base+"/approvals", `{}`, s.as(t, "erin", "Idempotency-Key", uniqueKey("ok")))
	}
	wg.Wait()
	time.Sleep(time.Second)

	tl := s.do(t, "GET", base+"/timeline", "")
	require.Equal(t, http.StatusOK, tl.status, tl.raw)
	byKind, byText := map[string]int{}, map[string]int{}
	var order []string
	for _, e := range tl.body["events"].([]any) {
		e := e.(map[string]any)
		kind, actor, msg := e["kind"].(string), e["actor"], e["message"].(string)
		order = append(order, kind+": "+msg)
		if actor == "" || actor == nil || actor == "process" {
			continue
		}
		byKind[kind]++
		if kind == "note" {
			byText[msg]++
		}
	}
	want, wantText := map[string]int{}, map[string]int{}
	seen := map[string]bool{}
	for _, r := range results {
		if r.status != http.StatusOK {
			require.Contains(t, []int{http.StatusConflict, http.StatusTooManyRequests}, r.status, "%s: %s", r.kind, r.raw)
			continue
		}
		if r.kind == "note" {
			if !seen[r.note] {
				want[r.kind]++
			}
			seen[r.note] = true
			wantText[r.note] = 1
			continue
		}
		want[r.kind]++
	}
	for _, k := range []string{"role_assigned", "acknowledged", "note", "fields_changed", "status_changed", "severity_changed", "task_done", "approved"} {
		require.Equal(t, want[k], byKind[k], "%s: answered 200 %d times, on the timeline %d times:\n%s", k, want[k], byKind[k], strings.Join(order, "\n"))
	}
	require.Equal(t, wantText, byText)

	// The run's recent events, in the timeline's order.
	inc := s.do(t, "GET", base, "")
	recent, _ := inc.body["state"].(map[string]any)["recent"].([]any)
	require.NotEmpty(t, recent, inc.raw)
	var tail []string
	for _, e := range recent {
		e := e.(map[string]any)
		tail = append(tail, e["kind"].(string)+": "+e["message"].(string))
	}
	var runs []string // the timeline's events the run made (deliveries are the activities')
	for _, o := range order {
		if !strings.HasPrefix(o, "delivered: ") {
			runs = append(runs, o)
		}
	}
	require.GreaterOrEqual(t, len(runs), len(tail))
	require.Equal(t, tail, runs[len(runs)-len(tail):], "the run's recent events are the timeline's last")
}
