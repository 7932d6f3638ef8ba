package api

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/store"
)

// Requests without a valid token cost nothing to send, and each would be a
// write to the audit log: anonymous refusals are written one by one up to
// anonymousPerMinute a minute, and the rest of the minute's are counted and
// written as one entry when it ends, so that no flood of them can fill the
// log or hold its lock, and none goes unrecorded.
const (
	anonymous          = dsl.AnonymousID // the principal of a request nobody signed
	anonymousPerMinute = 60
	refusalWindow      = time.Minute
	// maxRefusalSources bounds the addresses a summary counts one by one.
	maxRefusalSources = 1000
)

// refusals is the budget of anonymous refusals and the count of those over it.
type refusals struct {
	mu      sync.Mutex
	window  time.Time // when the current minute began
	written int
	dropped int
	from    map[string]int // source address → refusals over budget
	timer   *time.Timer
}

// admitAnonymous reports whether an anonymous refusal from addr at now is
// written by itself; if not, it is counted in the minute's summary. A
// summary of a minute past is written first.
func (s *Server) admitAnonymous(ctx context.Context, addr string, now time.Time) bool {
	r := &s.refusals
	r.mu.Lock()
	var past *store.AuditEntry
	if now.Sub(r.window) >= refusalWindow || now.Before(r.window) {
		past = r.summaryLocked()
		r.window, r.written = now, 0
	}
	admit := r.written < anonymousPerMinute
	if admit {
		r.written++
	} else {
		if r.dropped == 0 {
			// Written when the minute ends even if nothing else comes.
			r.timer = time.AfterFunc(r.window.Add(refusalWindow).Sub(now), s.flushRefusals)
		}
		r.dropped++
		if r.from == nil {
			r.from = map[string]int{}
		}
		if _, ok := r.from[addr]; ok || len(r.from) < maxRefusalSources {
			r.from[addr]++
		} else {
			r.from["other addresses"]++
		}
	}
	r.mu.Unlock()
	if past != nil {
		s.appendAudit(ctx, *past)
	}
	return admit
}

// flushRefusals writes the summary of the minute's refusals over budget.
func (s *Server) flushRefusals() {
	s.refusals.mu.Lock()
	e := s.refusals.summaryLocked()
	s.refusals.mu.Unlock()
	if e != nil {
		s.appendAudit(context.Background(), *e)
	}
}

// summaryLocked takes the minute's count of refusals over budget as one
// audit entry, or nil when there were none.
func (r *refusals) summaryLocked() *store.AuditEntry {
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	if r.dropped == 0 {
		return nil
	}
	sources := slices.SortedFunc(maps.Keys(r.from), func(a, b string) int {
		return cmp.Or(cmp.Compare(r.from[b], r.from[a]), strings.Compare(a, b))
	})
	var top []string
	for _, a := range sources[:min(len(sources), 5)] {
		top = append(top, fmt.Sprintf("%s ×%d", a, r.from[a]))
	}
	if len(sources) > 5 {
		top = append(top, fmt.Sprintf("%d more sources", len(sources)-5))
	}
	e := &store.AuditEntry{At: r.window.Add(refusalWindow), Principal: anonymous, Via: "token", Action: "requests without a valid token or session",
		Outcome: "denied", Status: 401,
		Detail: fmt.Sprintf("%d more in the minute from %s, over the %d a minute written one by one: %s",
			r.dropped, r.window.UTC().Format(time.RFC3339), anonymousPerMinute, strings.Join(top, ", "))}
	r.dropped, r.from = 0, map[string]int{}
	return e
}

// Audit writes an entry of another front of the API (the web app) to the
// audit log as the API writes its own: its texts bounded and quoted where
// they are not printable, and an anonymous refusal (Principal "anonymous",
// from remoteAddr) within the budget of those.
func (s *Server) Audit(ctx context.Context, e store.AuditEntry, remoteAddr string) {
	if e.At.IsZero() {
		e.At = s.cfg.Now()
	}
	e.Action, e.Target, e.Detail = printable(e.Action), printable(e.Target), printable(e.Detail)
	if e.Principal == anonymous && e.Outcome != "done" && !s.admitAnonymous(ctx, remoteHost(remoteAddr), e.At) {
		return // counted in the minute's summary
	}
	s.appendAudit(ctx, e)
}

// appendAudit writes an entry to the audit log, logging a failure.
func (s *Server) appendAudit(ctx context.Context, e store.AuditEntry) {
	if _, err := s.cfg.Store.AppendAudit(context.WithoutCancel(ctx), e); err != nil {
		s.cfg.Logger.Error("could not write the audit log", "action", e.Action, "error", err)
	}
}

// remoteHost is the address a request came from, without its port (a
// proxy's, behind one: forwarded headers are the client's to write).
func remoteHost(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}
