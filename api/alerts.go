package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/gin-gonic/gin"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/store"
	"github.com/incidentflow/incidentflow/workflows"
)

// alertPayload is what Prometheus Alertmanager (webhook version 4) and
// Grafana's alerting webhook post: a group of alerts, each with a status,
// labels, annotations, times and a fingerprint. Fields the tools add between
// versions are ignored, unlike in the rest of the API: refusing them would
// lose alerts.
type alertPayload struct {
	Version     string  `json:"version"`
	Status      string  `json:"status"`
	Receiver    string  `json:"receiver"`
	ExternalURL string  `json:"externalURL"`
	Alerts      []alert `json:"alerts"`
}

type alert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
	DashboardURL string            `json:"dashboardURL"` // Grafana
	PanelURL     string            `json:"panelURL"`     // Grafana
}

// AlertResolvedSignal is the signal a resolved alert sends an incident whose
// process declares it; otherwise the resolution is a note on the timeline.
const AlertResolvedSignal = "alert_resolved"

// alertResult says what one alert did.
type alertResult struct {
	Fingerprint string `json:"fingerprint"`
	Status      string `json:"status"`
	// Action is declared, attached (to the open incident with its
	// fingerprint), resolved, or ignored (a resolved alert no incident
	// knows, or a late repeat of a firing that has resolved since).
	Action string `json:"action"`
	Ref    string `json:"ref,omitempty"`
}

// plannedAlert is an alert checked and ready: the process and severity it
// declares with when it fires.
type plannedAlert struct {
	alert
	process  *dsl.Process
	severity string
}

const maxFingerprint = 128

// alerts takes a monitoring system's webhook: a firing alert declares an
// incident or joins the open one with its fingerprint; a resolved one is
// recorded on that incident (and sends it the alert_resolved signal when its
// process listens for it). ?type= and ?severity= choose the incident type
// and severity, else the labels incident_type and severity do. Every alert
// is checked before any is acted on, so a bad request changes nothing.
func (s *Server) alerts(source string) gin.HandlerFunc {
	return func(c *gin.Context) {
		// An alert's fingerprint ties notifications to one incident for
		// every monitoring system that sends it: only services send them.
		if who := caller(c); who.IsPerson() {
			s.fail(c, incidentflow.Errorf(incidentflow.EFORBIDDEN, "%s is a person: alerts come from monitoring systems, with a service's token (incidentflow token create --service %s --role declarer)", who.Name, source))
			return
		}
		raw, err := readBody(c)
		if err == nil {
			err = checkJSON(raw)
		}
		if err != nil {
			s.fail(c, err)
			return
		}
		var p alertPayload
		if err := json.Unmarshal(raw, &p); err != nil {
			s.fail(c, incidentflow.Errorf(incidentflow.EBADREQUEST, "the body is not a %s webhook payload: it must be the JSON object %s posts", source, source))
			return
		}
		if source == "alertmanager" && p.Version != "4" {
			s.fail(c, field("version", fmt.Sprintf("must be \"4\", the Alertmanager webhook version this endpoint reads, not %q", p.Version)))
			return
		}
		planned, err := s.planAlerts(c, p.Alerts)
		if err != nil {
			s.fail(c, err)
			return
		}
		// Each caller's fingerprints are its own, as idempotency keys are:
		// another service's alert with the same labels (a fingerprint is
		// their hash) is another alert, and finds no incident of theirs.
		// A notification of thousands of alerts takes longer than the
		// server's write timeout: its answer still reaches the sender,
		// which would otherwise see a failure and send it all again.
		_ = http.NewResponseController(c.Writer).SetWriteDeadline(time.Now().Add(time.Minute + time.Duration(len(planned))*alertWriteTime))
		scope := source + " " + caller(c).String()
		results, starting, err := s.takeAlerts(c, scope, source, planned)
		if err != nil {
			s.fail(c, err)
			return
		}
		var refs []string
		for _, r := range results {
			if r.Ref != "" && !slices.Contains(refs, r.Ref) {
				refs = append(refs, r.Ref)
			}
		}
		c.Set(targetKey, strings.Join(refs, ","))
		answer := gin.H{"source": source, "results": results}
		if starting > 0 {
			answer["runs_starting"] = starting
		}
		c.JSON(http.StatusOK, answer)
	}
}

// planAlerts checks every alert and picks each firing one's type and
// severity, reporting every problem at once.
func (s *Server) planAlerts(c *gin.Context, alerts []alert) ([]plannedAlert, error) {
	qType, qSeverity := c.Query("type"), c.Query("severity")
	var details []incidentflow.Detail
	problem := func(i int, name, msg string) {
		details = append(details, incidentflow.Detail{Field: fmt.Sprintf("alerts[%d].%s", i, name), Message: msg})
	}
	types := s.cfg.Catalog.Types()
	var out []plannedAlert
	for i, a := range alerts {
		switch {
		case a.Fingerprint == "" || len(a.Fingerprint) > maxFingerprint:
			problem(i, "fingerprint", fmt.Sprintf("is required (at most %d characters): it groups the alert's notifications into one incident", maxFingerprint))
			continue
		case a.Status != "firing" && a.Status != "resolved":
			problem(i, "status", fmt.Sprintf("must be firing or resolved, not %q", a.Status))
			continue
		}
		pa := plannedAlert{alert: a}
		if a.Status == "resolved" {
			out = append(out, pa)
			continue
		}
		typ, from := qType, "the type query parameter"
		if typ == "" {
			typ, from = a.Labels["incident_type"], "the label incident_type"
		}
		p, ok := s.cfg.Catalog.Processes[typ]
		switch {
		case typ == "":
			problem(i, "labels.incident_type", "no incident type: add ?type=TYPE to the webhook URL or the label incident_type to the alert (types: "+strings.Join(types, ", ")+")")
			continue
		case !ok:
			problem(i, "labels.incident_type", fmt.Sprintf("%s names %q, which is no incident type%s (types: %s)", from, typ, dsl.DidYouMean(typ, types), strings.Join(types, ", ")))
			continue
		}
		pa.process = p
		switch sev := a.Labels["severity"]; {
		case qSeverity != "" && p.SeverityRank(qSeverity) < 0:
			problem(i, "severity", fmt.Sprintf("the severity query parameter %q is not a %s severity%s (%s)", qSeverity, typ, dsl.DidYouMean(qSeverity, p.Severities), strings.Join(p.Severities, ", ")))
			continue
		case qSeverity != "":
			pa.severity = qSeverity
		case p.SeverityRank(sev) >= 0:
			pa.severity = sev
		default:
			// Monitoring severities (warning, page, P2…) rarely match a
			// process's: an alert is never lost for it; it comes in at the
			// lowest severity, and its own label is in the summary.
			pa.severity = p.Severities[len(p.Severities)-1]
		}
		out = append(out, pa)
	}
	if len(details) > 0 {
		msgs := make([]string, len(details))
		for i, d := range details {
			msgs[i] = d.Field + ": " + d.Message
		}
		return nil, &incidentflow.Error{Code: incidentflow.EINVALID, Message: "the alerts cannot be taken: " + strings.Join(msgs, "; "), Details: details}
	}
	return out, nil
}

// takeAlerts acts on checked alerts. The firing ones are declared in bulk:
// their incidents and alerts recorded in a few transactions, whatever
// their number, and their runs started alertWorkers at a time. It answers
// once every run has started or alertStartWait has passed, whichever comes
// first, saying how many runs were still starting: they go on starting
// after the answer (and the reconciler starts any this process could not),
// so that a notification of thousands is answered in seconds. The resolved
// alerts, and the firing ones whose open incident they join, are taken
// alertWorkers at a time.
func (s *Server) takeAlerts(c *gin.Context, scope, legacy string, planned []plannedAlert) ([]alertResult, int64, error) {
	ctx := c.Request.Context()
	by := callerID(c)
	results := make([]alertResult, len(planned))
	records := make([]store.Alert, len(planned))
	errs := make([]error, len(planned))
	var firing []string
	for i, a := range planned {
		results[i] = alertResult{Fingerprint: a.Fingerprint, Status: a.Status}
		records[i] = alertRecord(scope, a.alert)
		if a.Status == "firing" {
			firing = append(firing, a.Fingerprint)
		}
	}
	known, err := s.cfg.Store.LatestAlerts(ctx, scope, firing)
	if err != nil {
		return nil, 0, err
	}
	var decls []store.AlertDeclaration
	var at []int
	versions := map[string]bool{}
	for i, a := range planned {
		if a.Status != "firing" {
			continue
		}
		k, ok := known[a.Fingerprint]
		if ok && lateRepeat(k, records[i]) {
			results[i].Ref, results[i].Action = k.Ref, "ignored"
			continue
		}
		// An alert that joins its open incident declares nothing: only
		// one that would declare is checked as a declaration (a process
		// that has gained a required field since refuses no alert of an
		// incident declared before).
		open := ok && !dsl.IsFinalStatus(k.IncidentStatus)
		req := DeclareRequest{Type: a.process.Type, Severity: a.severity, Title: alertTitle(a.alert, alertName(a.alert)), Summary: alertSummary(a.alert),
			Fields: labelFields(a.process, a.Labels), DeclaredBy: by}
		if _, err := s.checkDeclaration(&req); err != nil && !open {
			return nil, 0, alertProblem(i, a.Fingerprint, err)
		}
		if !versions[a.process.Type] {
			if err := s.saveProcessVersion(ctx, a.process); err != nil {
				return nil, 0, err
			}
			versions[a.process.Type] = true
		}
		decls = append(decls, store.AlertDeclaration{Alert: records[i], Incident: s.newIncident(a.process, req, "")})
		at = append(at, i)
	}
	keys := make([]string, len(decls))
	for j, d := range decls {
		keys[j] = alertKey(d.Alert.Source, d.Alert.Fingerprint)
	}
	s.declaring.add(keys...)
	defer s.declaring.done(keys...)
	// What committed before a failure is counted and started all the same.
	declared, declareErr := s.cfg.Store.DeclareAlerts(ctx, decls)
	var runs []incidentflow.Incident
	for j, d := range declared {
		i := at[j]
		results[i].Ref = d.Incident.Ref
		switch {
		case d.Created:
			results[i].Action = "declared"
			s.countDeclared(d.Incident)
			runs = append(runs, d.Incident)
		case d.Incident.WorkflowStartedAt == nil:
			// Declared by a notification whose start has not happened
			// yet, or failed: it is started again (Temporal starts a run
			// once), and the alert joins it below.
			runs = append(runs, d.Incident)
		}
	}
	if declareErr != nil {
		s.startRuns(ctx, runs)
		return nil, 0, declareErr
	}
	starting, done := s.startRuns(ctx, runs)
	eachAlert(len(planned), func(i int) {
		switch a := planned[i]; {
		case a.Status == "resolved":
			results[i], errs[i] = s.alertResolved(c, scope, legacy, a, records[i])
		case results[i].Action == "":
			k, ok := known[a.Fingerprint]
			results[i], errs[i] = s.alertFiringAgain(ctx, by, records[i], results[i], k, ok)
		}
	})
	select {
	case <-done:
	case <-time.After(alertStartWait):
	}
	return results, starting.Load(), firstError(errs)
}

// alertProblem names the alert whose declaration err refuses.
func alertProblem(i int, fingerprint string, err error) error {
	var e *incidentflow.Error
	if !errors.As(err, &e) {
		return err
	}
	out := &incidentflow.Error{Code: e.Code, Message: fmt.Sprintf("alerts[%d] (fingerprint %s) cannot declare its incident: %s", i, fingerprint, e.Message), Err: e.Err}
	for _, d := range e.Details {
		d.Field = fmt.Sprintf("alerts[%d].%s", i, d.Field)
		out.Details = append(out.Details, d)
	}
	return out
}

// eachAlert calls fn for 0 to n-1, alertWorkers at a time.
func eachAlert(n int, fn func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(alertWorkers, n) {
		wg.Go(func() {
			for i := range next {
				fn(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// startRuns starts the runs of recorded incidents, beyond the request's
// end, at most alertWorkers at a time for the whole API. It returns how
// many have not started yet (still starting, or failed: the reconciler
// starts those), and a channel closed when none is starting.
func (s *Server) startRuns(ctx context.Context, incs []incidentflow.Incident) (*atomic.Int64, <-chan struct{}) {
	pending, done := &atomic.Int64{}, make(chan struct{})
	pending.Store(int64(len(incs)))
	ctx = context.WithoutCancel(ctx)
	go func() {
		defer close(done)
		eachAlert(len(incs), func(i int) {
			ref := incs[i].Ref
			if !s.starting.claim(ref) { // a notification before this one is starting it
				return
			}
			defer s.starting.done(ref)
			s.starts <- struct{}{}
			defer func() { <-s.starts }()
			if _, err := s.start(ctx, incs[i]); err != nil {
				s.cfg.Logger.Warn("an alert's incident is recorded but its run did not start; the reconciler will retry", "incident", incs[i].Ref, "error", err)
				return
			}
			pending.Add(-1)
		})
	}()
	return pending, done
}

// inFlight counts keys in flight: the refs whose runs the API is starting
// behind alert notifications' answers (a repeat of a notification does not
// ask Temporal to start them again), and the fingerprints notifications are
// declaring now (a resolution arriving meanwhile is answered "send again"
// rather than dropped).
type inFlight struct {
	mu sync.Mutex
	m  map[string]int
}

func (f *inFlight) add(keys ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range keys {
		f.m[k]++
	}
}

func (f *inFlight) done(keys ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range keys {
		if f.m[k]--; f.m[k] <= 0 {
			delete(f.m, k)
		}
	}
}

func (f *inFlight) has(key string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.m[key] > 0
}

// claim adds key if it is not in flight, and says whether it did.
func (f *inFlight) claim(key string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m[key] > 0 {
		return false
	}
	f.m[key]++
	return true
}

// alertKey is how declaring knows a fingerprint of a scope.
func alertKey(scope, fingerprint string) string { return scope + "\x00" + fingerprint }

// alertName is what an alert is called: its alertname, else its fingerprint.
func alertName(a alert) string {
	if name := oneLine(a.Labels["alertname"], incidentflow.MaxName); name != "" {
		return name
	}
	return a.Fingerprint
}

// alertRecord is what the store keeps of an alert of scope.
func alertRecord(scope string, a alert) store.Alert {
	var startsAt *time.Time
	if !a.StartsAt.IsZero() {
		t := a.StartsAt.UTC()
		startsAt = &t
	}
	return store.Alert{Source: scope, Fingerprint: a.Fingerprint, AlertName: alertName(a), Status: a.Status, StartsAt: startsAt}
}

// lateRepeat reports whether a firing alert is a late repeat of the
// firing known, which has resolved since: a peer of an Alertmanager HA pair
// that has not heard of a resolution yet goes on repeating the alert as
// firing, with the start it had. That firing is over, and declares nothing.
func lateRepeat(known, a store.Alert) bool {
	return known.Status == "resolved" && a.StartsAt != nil && known.StartsAt != nil && a.StartsAt.Unix() <= known.StartsAt.Unix()
}

// alertResolved records a resolved alert on its incident.
func (s *Server) alertResolved(c *gin.Context, scope, legacy string, a plannedAlert, record store.Alert) (alertResult, error) {
	ctx := c.Request.Context()
	res := alertResult{Fingerprint: a.Fingerprint, Status: a.Status}
	name := record.AlertName
	known, err := s.cfg.Store.LatestAlert(ctx, scope, a.Fingerprint)
	if incidentflow.ErrorCode(err) == incidentflow.ENOTFOUND {
		known, err = s.legacyAlert(ctx, legacy, a.Fingerprint, callerID(c))
	}
	if incidentflow.ErrorCode(err) == incidentflow.ENOTFOUND {
		// Its firing may be declaring the incident right now: the
		// sender tries again, and finds the alert then.
		claimed, err := s.cfg.Store.AlertClaimed(ctx, scope, a.Fingerprint)
		if err != nil {
			return res, err
		}
		if claimed || s.declaring.has(alertKey(scope, a.Fingerprint)) {
			return res, incidentflow.Errorf(incidentflow.EUNAVAILABLE, "the incident of alert %s is being declared; send its resolution again shortly", a.Fingerprint)
		}
		res.Action = "ignored"
		return res, nil
	}
	if err != nil {
		return res, err
	}
	record.Ref, res.Ref, res.Action = known.Ref, known.Ref, "resolved"
	if known.Status != "resolved" { // a repeated notification says nothing new
		// The incident hears first and the alert is saved after, so
		// that a notification the incident did not hear is retried.
		err := s.tellIncident(ctx, known.Ref, alertUpdateID(known, "resolved"), func(p *dsl.Process) (string, any) {
			if slices.Contains(p.Signals, AlertResolvedSignal) {
				return workflows.UpdateSignal, workflows.SignalInput{Name: AlertResolvedSignal, By: callerID(c),
					Payload: map[string]any{"alertname": name, "fingerprint": a.Fingerprint}}
			}
			return workflows.UpdateAddNote, workflows.AddNoteInput{By: callerID(c), Text: fmt.Sprintf("Alert %s resolved", name)}
		})
		if err != nil {
			return res, err
		}
	}
	_, err = s.cfg.Store.SaveAlert(ctx, record)
	return res, err
}

// alertFiringAgain attaches a firing alert to the open incident it belongs
// to, noting on its timeline when the alert fires anew after it resolved.
// The note comes before the alert is saved, so that a notification the
// incident did not hear is retried.
func (s *Server) alertFiringAgain(ctx context.Context, by string, record store.Alert, res alertResult, known store.Alert, isKnown bool) (alertResult, error) {
	ref := res.Ref
	record.Ref, res.Action = ref, "attached"
	if isKnown && known.Ref == ref && known.Status == "firing" && sameStart(known.StartsAt, record.StartsAt) {
		res.Action = "replayed" // the same firing sent again (a retry, a repeat, a peer): nothing new to tell or keep
		return res, nil
	}
	if isKnown && known.Ref == ref && known.Status == "resolved" {
		err := s.tellIncident(ctx, ref, alertUpdateID(record, "firing"), func(*dsl.Process) (string, any) {
			return workflows.UpdateAddNote, workflows.AddNoteInput{By: by, Text: fmt.Sprintf("Alert %s is firing again", record.AlertName)}
		})
		if err != nil {
			return res, err
		}
	}
	_, err := s.cfg.Store.SaveAlert(ctx, record)
	return res, err
}

// sameStart reports whether two firings started at the same second.
func sameStart(a, b *time.Time) bool {
	return a != nil && b != nil && a.Unix() == b.Unix()
}

// alertUpdateID identifies what an alert tells its incident about one of
// its firings, so that a retried notification tells it once.
func alertUpdateID(a store.Alert, event string) string {
	at := int64(0)
	if a.StartsAt != nil {
		at = a.StartsAt.Unix()
	}
	return "alert-" + hashOf([]byte(a.Source), []byte(a.Fingerprint), []byte(a.Ref), []byte(strconv.FormatInt(at, 10)), []byte(event))[:40]
}

// tellIncident sends an open, running incident the update what chooses for
// its process, once (under updateID). An incident that is over, or refuses
// the update, has nothing to hear; an incident whose run Temporal cannot
// reach fails the notification, so that the monitoring system retries it.
func (s *Server) tellIncident(ctx context.Context, ref, updateID string, what func(*dsl.Process) (string, any)) error {
	inc, err := s.cfg.Store.Incident(ctx, ref)
	if err != nil || dsl.IsFinalStatus(inc.Status) {
		return err
	}
	if inc.WorkflowStartedAt == nil {
		// Its run has not started yet (Temporal was away when it was
		// declared): the sender tries again, and the run hears it then.
		return incidentflow.Errorf(incidentflow.EUNAVAILABLE, "the run of %s has not started yet; send the alert again shortly", ref)
	}
	p, err := s.process(ctx, inc)
	if err != nil {
		return err
	}
	name, in := what(p)
	if _, err := s.runUpdate(ctx, inc, name, in, updateID); incidentflow.ErrorCode(err) != incidentflow.ECONFLICT {
		return err
	}
	return nil
}

// alertWorkers is how many alerts of one notification are taken at once;
// alertWriteTime is how much longer each alert may make its answer, and
// alertStartWait how long the answer waits for the declared incidents'
// runs to start.
const (
	alertWorkers   = 16
	alertWriteTime = 50 * time.Millisecond
	alertStartWait = 2 * time.Second
)

// firstError is the first error of errs that is not nil.
func firstError(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// legacyAlert is an alert saved before fingerprints were each caller's
// own (under the source alone), if the caller declared its incident.
func (s *Server) legacyAlert(ctx context.Context, source, fingerprint, caller string) (store.Alert, error) {
	known, err := s.cfg.Store.LatestAlert(ctx, source, fingerprint)
	if err != nil {
		return known, err
	}
	if inc, err := s.cfg.Store.Incident(ctx, known.Ref); err != nil || inc.DeclaredBy != caller {
		return store.Alert{}, incidentflow.Errorf(incidentflow.ENOTFOUND, "no alert %s", fingerprint)
	}
	return known, nil
}

// alertTitle is the first of the alert's summary, its title and its name
// that is something once made one line.
func alertTitle(a alert, name string) string {
	for _, t := range []string{a.Annotations["summary"], a.Annotations["title"], name, a.Fingerprint} {
		if title := oneLine(t, incidentflow.MaxTitle); title != "" {
			return title
		}
	}
	return "Alert"
}

// oneLine makes text from a monitoring system one line of at most max
// characters: what spreads over several lines is joined, control
// characters go, and the rest is cut with an ellipsis.
func oneLine(text string, max int) string {
	text = strings.Join(strings.FieldsFunc(text, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }), " ")
	if r := []rune(text); len(r) > max {
		text = string(r[:max-1]) + "…"
	}
	return text
}

func alertSummary(a alert) string {
	var b strings.Builder
	if d := a.Annotations["description"]; d != "" {
		b.WriteString(d + "\n\n")
	}
	for _, k := range []string{"runbook_url"} {
		if v := a.Annotations[k]; v != "" {
			fmt.Fprintf(&b, "Runbook: %s\n", v)
		}
	}
	for _, u := range []struct{ name, url string }{{"Source", a.GeneratorURL}, {"Dashboard", a.DashboardURL}, {"Panel", a.PanelURL}} {
		if u.url != "" {
			fmt.Fprintf(&b, "%s: %s\n", u.name, u.url)
		}
	}
	keys := make([]string, 0, len(a.Labels))
	for k := range a.Labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b.WriteString("Labels:")
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%s", k, a.Labels[k])
	}
	out := strings.Map(func(r rune) rune {
		switch {
		case r == '\u2028' || r == '\u2029': // Unicode's line and paragraph separators: a line break
			return '\n'
		case (unicode.IsControl(r) || unicode.Is(unicode.Cf, r)) && r != '\n' && r != '\t':
			return -1
		}
		return r
	}, b.String())
	if r := []rune(out); len(r) > incidentflow.MaxText {
		out = string(r[:incidentflow.MaxText-1]) + "…"
	}
	return out
}

// labelFields copies labels named like the process's fields into them,
// keeping only those that are valid values of the field's type.
func labelFields(p *dsl.Process, labels map[string]string) map[string]any {
	out := map[string]any{}
	for _, f := range p.Fields {
		label, ok := labels[f.Name]
		if !ok {
			continue
		}
		var v any = label
		switch f.Type { // labels are strings; fields are typed
		case "bool":
			v, _ = strconv.ParseBool(label)
		case "int":
			n, err := strconv.ParseInt(label, 10, 64)
			if err != nil {
				continue
			}
			v = n
		case "number":
			n, err := strconv.ParseFloat(label, 64)
			if err != nil {
				continue
			}
			v = n
		case "list":
			v = strings.Split(label, ",")
		}
		if norm, err := dsl.NormalizeField(f, v); err == nil {
			out[f.Name] = norm
		}
	}
	return out
}
