package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/store"
	"github.com/incidentflow/incidentflow/tooltest"
)

// alertmanager is a real Prometheus Alertmanager (see .ci/go-tools) on the
// loopback interface, whose one receiver is the shared stack's alert intake.
type alertmanager struct {
	url     string // its API
	cluster string // its gossip address
	proc    *tooltest.Process
}

// alertmanagerConfig routes every alert to the stack's intake with the token
// of a service with the declarer role, grouped by alert name, with timings short enough
// for a test: a group's first notification after a second, a repeat every
// two seconds while nothing changes.
func alertmanagerConfig(t *testing.T, s *stack) string {
	t.Helper()
	token := strings.TrimPrefix(s.service(t, "alertmanager", incidentflow.RoleDeclarer)[1], "Bearer ")
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "incidentflow-token")
	require.NoError(t, os.WriteFile(tokenFile, []byte(token+"\n"), 0o600))
	config := filepath.Join(dir, "alertmanager.yml")
	require.NoError(t, os.WriteFile(config, fmt.Appendf(nil, `
route:
  receiver: incidentflow
  group_by: [alertname, run]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 2s
receivers:
  - name: incidentflow
    webhook_configs:
      - url: %s/v1/alerts/alertmanager
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials_file: %s
`, s.http.URL, tokenFile), 0o600))
	return config
}

// startAlertmanager starts one Alertmanager with config, alone.
func startAlertmanager(t *testing.T, config string) *alertmanager {
	t.Helper()
	return launchAlertmanager(t, config, false)
}

// startHAPair starts two Alertmanagers with config, clustered as HA peers,
// and waits until each knows the other. The peers notify at once (peer
// timeout 0) instead of each waiting its turn: every alert reaches the
// intake from both, which must take them as one.
func startHAPair(t *testing.T, config string) (*alertmanager, *alertmanager) {
	t.Helper()
	a := launchAlertmanager(t, config, true)
	b := launchAlertmanager(t, config, true, a)
	for _, am := range []*alertmanager{a, b} {
		require.Eventually(t, func() bool {
			var status struct {
				Cluster struct {
					Status string
					Peers  []any
				}
			}
			resp, err := http.Get(am.url + "/api/v2/status")
			if err != nil {
				return false
			}
			defer func() { _ = resp.Body.Close() }()
			return json.NewDecoder(resp.Body).Decode(&status) == nil && status.Cluster.Status == "ready" && len(status.Cluster.Peers) == 2
		}, 30*time.Second, 100*time.Millisecond, "the peers did not form a cluster:\n%s", am.proc.Log())
	}
	return a, b
}

func launchAlertmanager(t *testing.T, config string, gossip bool, peers ...*alertmanager) *alertmanager {
	t.Helper()
	bin := tooltest.Find(t, "alertmanager")
	am := &alertmanager{url: fmt.Sprintf("http://127.0.0.1:%d", tooltest.Port(t))}
	args := []string{"--config.file=" + config, "--web.listen-address=" + strings.TrimPrefix(am.url, "http://"), "--web.external-url=" + am.url}
	if gossip {
		am.cluster = fmt.Sprintf("127.0.0.1:%d", tooltest.Port(t))
		args = append(args, "--cluster.listen-address="+am.cluster, "--cluster.advertise-address="+am.cluster, "--cluster.peer-timeout=0s",
			"--cluster.gossip-interval=20ms", "--cluster.pushpull-interval=1s", "--cluster.settle-timeout=5s")
		for _, p := range peers {
			args = append(args, "--cluster.peer="+p.cluster)
		}
	} else {
		args = append(args, "--cluster.listen-address=") // no gossip at all
	}
	am.proc = tooltest.Start(t, bin, args...)
	am.proc.WaitHTTP(t, am.url+"/-/ready")
	return am
}

// amtool runs the real amtool against am.
func (am *alertmanager) amtool(t *testing.T, args ...string) string {
	t.Helper()
	return tooltest.Run(t, tooltest.Find(t, "amtool"), append([]string{"--alertmanager.url=" + am.url}, args...)...)
}

// metric sums an Alertmanager counter of its webhook integration.
func (am *alertmanager) metric(t *testing.T, name string) int {
	t.Helper()
	resp, err := http.Get(am.url + "/metrics")
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	total := 0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, name+"{") && strings.Contains(line, `integration="webhook"`) {
			v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			require.NoError(t, err, line)
			total += int(v)
		}
	}
	return total
}

// quiet waits until am has nothing left to notify: its count of
// notifications stays still for longer than the repeat interval.
func (am *alertmanager) quiet(t *testing.T) {
	t.Helper()
	last, since := -1, time.Now()
	require.Eventually(t, func() bool {
		if n := am.metric(t, "alertmanager_notifications_total"); n != last {
			last, since = n, time.Now()
		}
		return time.Since(since) > 3*time.Second
	}, time.Minute, 200*time.Millisecond, "Alertmanager goes on notifying:\n%s", am.proc.Log())
}

// amAlert is one alert as a Prometheus rule would send it to Alertmanager.
type amAlert struct {
	instance, severity, summary string
}

// fire adds the alerts of one run (label run=nonce) to am with amtool,
// started at start, or resolves them when end is set.
func (am *alertmanager) fire(t *testing.T, nonce string, start, end time.Time, alerts ...amAlert) {
	t.Helper()
	for _, a := range alerts {
		args := []string{"alert", "add", "alertname=CheckoutErrors", "run=" + nonce, "instance=" + a.instance, "severity=" + a.severity,
			"incident_type=engineering", "service=checkout",
			"--annotation=summary=" + a.summary,
			"--annotation=description=5xx responses on " + a.instance + " are above 5% for 10 minutes.",
			"--annotation=runbook_url=https://runbooks.example.com/checkout-errors",
			"--generator-url=http://prometheus.example.com:9090/graph?g0.expr=checkout_errors",
			"--start=" + start.Format(time.RFC3339)}
		if !end.IsZero() {
			args = append(args, "--end="+end.Format(time.RFC3339))
		}
		am.amtool(t, args...)
	}
}

// fingerprints asks am, through amtool, for the fingerprint of each
// instance's alert of the run.
func (am *alertmanager) fingerprints(t *testing.T, nonce string) map[string]string {
	t.Helper()
	var alerts []struct {
		Fingerprint string
		Labels      map[string]string
	}
	require.NoError(t, json.Unmarshal([]byte(am.amtool(t, "alert", "query", "-o", "json", "run="+nonce)), &alerts))
	out := map[string]string{}
	for _, a := range alerts {
		out[a.Labels["instance"]] = a.Fingerprint
	}
	return out
}

// incidentsOfRun lists the incidents the alerts of the run declared: their
// summaries hold their labels.
func incidentsOfRun(t *testing.T, s *stack, nonce string) []incidentflow.Incident {
	t.Helper()
	var out []incidentflow.Incident
	f := store.ListFilter{Type: "engineering", Limit: 500}
	for {
		page, err := s.store.ListIncidents(context.Background(), f)
		require.NoError(t, err)
		for _, inc := range page {
			if strings.Contains(inc.Summary, " run="+nonce+" ") {
				out = append(out, inc)
			}
		}
		if len(page) < f.Limit {
			return out
		}
		f.After = page[len(page)-1].Number
	}
}

// refOf waits until the alert with fingerprint fp has an incident.
func refOf(t *testing.T, s *stack, fp string) string {
	t.Helper()
	var ref string
	require.Eventually(t, func() bool {
		a, err := s.store.LatestAlert(context.Background(), "alertmanager service:alertmanager", fp) // each caller's fingerprints are its own
		ref = a.Ref
		return err == nil
	}, 30*time.Second, 100*time.Millisecond, "alert %s declared no incident", fp)
	return ref
}

// signals counts the alert_resolved signals on an incident's timeline.
func signals(t *testing.T, s *stack, ref string) int {
	t.Helper()
	events, err := s.store.Timeline(context.Background(), ref)
	require.NoError(t, err)
	n := 0
	for _, e := range events {
		if e.Kind == "signal" && strings.Contains(e.Message, "alert_resolved") {
			n++
		}
	}
	return n
}

var checkoutAlerts = []amAlert{
	{"eu-1", "critical", "Checkout is failing on eu-1"},
	{"eu-2", "major", "Checkout is failing on eu-2"},
	{"us-1", "warning", "Checkout is failing on us-1"}, // no engineering severity: the lowest
}

func TestRealAlertmanagerDeclaresRepeatsAndResolves(t *testing.T) {
	s := setup(t)
	am := startAlertmanager(t, alertmanagerConfig(t, s))
	nonce := strconv.FormatInt(time.Now().UnixNano(), 36)
	start := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
	am.fire(t, nonce, start, time.Time{}, checkoutAlerts...)
	fps := am.fingerprints(t, nonce)
	require.Len(t, fps, 3)

	refs := map[string]string{}
	for _, a := range checkoutAlerts {
		refs[a.instance] = refOf(t, s, fps[a.instance])
	}
	for _, tc := range []struct{ instance, severity string }{{"eu-1", "critical"}, {"eu-2", "major"}, {"us-1", "minor"}} {
		inc := s.do(t, "GET", "/v1/incidents/"+refs[tc.instance], "")
		require.Equal(t, http.StatusOK, inc.status, inc.raw)
		require.Equal(t, "Checkout is failing on "+tc.instance, inc.str("title"))
		require.Equal(t, tc.severity, inc.str("severity"))
		require.Equal(t, "checkout", inc.body["fields"].(map[string]any)["service"], "the service label fills the field")
		require.Equal(t, "service:alertmanager", inc.str("declared_by"))
		for _, want := range []string{"5xx responses on " + tc.instance + " are above 5% for 10 minutes.",
			"Runbook: https://runbooks.example.com/checkout-errors", "Source: http://prometheus.example.com:9090/graph?g0.expr=checkout_errors",
			"alertname=CheckoutErrors", "instance=" + tc.instance} {
			require.Contains(t, inc.str("summary"), want)
		}
	}
	require.Len(t, incidentsOfRun(t, s, nonce), 3, "one incident per fingerprint")

	// Alertmanager repeats the group every repeat_interval: the repeats
	// change nothing.
	before := map[string]incidentflow.Incident{}
	for _, ref := range refs {
		inc, err := s.store.Incident(context.Background(), ref)
		require.NoError(t, err)
		before[ref] = inc
	}
	require.Eventually(t, func() bool { return am.metric(t, "alertmanager_notifications_total") >= 3 },
		30*time.Second, 200*time.Millisecond, "Alertmanager repeated nothing")
	require.Len(t, incidentsOfRun(t, s, nonce), 3)
	for ref, was := range before {
		now, err := s.store.Incident(context.Background(), ref)
		require.NoError(t, err)
		require.Equal(t, [4]string{was.Title, was.Severity, was.Status, was.Summary}, [4]string{now.Title, now.Severity, now.Status, now.Summary})
	}

	// Resolved, the alerts reach their incidents: the engineering process
	// resolves the minor one and tells the lead of the others.
	am.fire(t, nonce, start, time.Now(), checkoutAlerts...)
	require.Eventually(t, func() bool {
		inc, err := s.store.Incident(context.Background(), refs["us-1"])
		return err == nil && inc.Status == "resolved"
	}, 30*time.Second, 100*time.Millisecond, "the minor incident did not resolve with its alert")
	for _, instance := range []string{"eu-1", "eu-2"} {
		require.Eventually(t, func() bool { return signals(t, s, refs[instance]) == 1 }, 30*time.Second, 100*time.Millisecond,
			"the resolution never reached %s", refs[instance])
		require.Eventually(t, func() bool { return len(s.console.containing("The alert behind "+refs[instance]+" has resolved")) > 0 },
			10*time.Second, 100*time.Millisecond)
		inc, err := s.store.Incident(context.Background(), refs[instance])
		require.NoError(t, err)
		require.Equal(t, "investigating", inc.Status, "a person resolves a %s incident", inc.Severity)
	}
	require.Equal(t, 1, signals(t, s, refs["us-1"]))
	require.Zero(t, am.metric(t, "alertmanager_notifications_failed_total"), "Alertmanager saw no failure:\n%s", am.proc.Log())
	require.Len(t, incidentsOfRun(t, s, nonce), 3)
}

// notes counts the notes on an incident's timeline that say so.
func notes(t *testing.T, s *stack, ref, text string) int {
	t.Helper()
	events, err := s.store.Timeline(context.Background(), ref)
	require.NoError(t, err)
	n := 0
	for _, e := range events {
		if strings.Contains(e.Message, text) {
			n++
		}
	}
	return n
}

func TestRealAlertmanagerHAPairDeclaresOnce(t *testing.T) {
	s := setup(t)
	a, b := startHAPair(t, alertmanagerConfig(t, s))
	nonce := strconv.FormatInt(time.Now().UnixNano(), 36)
	start := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
	alerts := []amAlert{checkoutAlerts[0], checkoutAlerts[2]} // critical, and minor
	// Prometheus sends its alerts to every Alertmanager of the pair.
	for _, am := range []*alertmanager{a, b} {
		am.fire(t, nonce, start, time.Time{}, alerts...)
	}
	fps := a.fingerprints(t, nonce)
	require.Equal(t, fps, b.fingerprints(t, nonce))
	refs := map[string]string{}
	for _, al := range alerts {
		refs[al.instance] = refOf(t, s, fps[al.instance])
	}
	for _, am := range []*alertmanager{a, b} {
		require.Eventually(t, func() bool { return am.metric(t, "alertmanager_notifications_total") >= 2 },
			30*time.Second, 200*time.Millisecond, "a peer did not notify:\n%s", am.proc.Log())
	}
	require.Len(t, incidentsOfRun(t, s, nonce), 2, "one incident per alert, however many peers notify")

	// The resolution reaches one peer first (the other is cut off from
	// Prometheus for a while): the other goes on notifying the alert as
	// firing, with the start it had, until it hears too.
	a.fire(t, nonce, start, time.Now(), alerts...)
	require.Eventually(t, func() bool {
		inc, err := s.store.Incident(context.Background(), refs["us-1"])
		return err == nil && inc.Status == "resolved"
	}, 30*time.Second, 100*time.Millisecond, "the minor incident did not resolve with its alert")
	require.Eventually(t, func() bool { return signals(t, s, refs["eu-1"]) == 1 }, 30*time.Second, 100*time.Millisecond)
	stale := b.metric(t, "alertmanager_notifications_total")
	require.Eventually(t, func() bool { return b.metric(t, "alertmanager_notifications_total") >= stale+2 },
		30*time.Second, 200*time.Millisecond, "the late peer did not repeat the firing alerts")
	b.fire(t, nonce, start, time.Now(), alerts...)
	a.quiet(t)
	b.quiet(t)

	require.Len(t, incidentsOfRun(t, s, nonce), 2, "a stale notification of a resolved alert declares nothing")
	for _, ref := range refs {
		require.Equal(t, 1, signals(t, s, ref), "%s heard of the resolution once", ref)
		require.Zero(t, notes(t, s, ref, "is firing again"), "%s: the alert never fired again", ref)
	}
	us1, err := s.store.Incident(context.Background(), refs["us-1"])
	require.NoError(t, err)
	require.Equal(t, "resolved", us1.Status)
	for _, am := range []*alertmanager{a, b} {
		require.Zero(t, am.metric(t, "alertmanager_notifications_failed_total"), "Alertmanager saw no failure:\n%s", am.proc.Log())
	}
}
