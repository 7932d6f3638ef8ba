package web

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/api"
	"github.com/incidentflow/incidentflow/store"
)

// Insights are charts drawn on the server as SVG (no script draws them),
// each with its figures as a table beside it and as CSV to download. They
// count only the incidents their reader may see.

// periods are the spans the insights look back over, in weeks.
var periods = []int{4, 12, 26, 52}

// bar is one bar of a chart, placed.
type bar struct {
	Label string
	Value float64
	// Text is the value as people read it.
	Text string
	// Y and W place the bar in the chart's coordinates.
	Y, W float64
	// Parts split a bar into coloured segments (deadlines' outcomes).
	Parts []segment
}

// segment is a part of a bar: one outcome and how many.
type segment struct {
	Class string
	Label string
	Count int
	X, W  float64
}

// chart is a horizontal bar chart.
type chart struct {
	ID, Title, Caption string
	Bars               []bar
	Height             float64
	// Legend names the segments' classes, for split bars.
	Legend []segment
}

// Chart geometry, in the SVG's own units: labels on the left, bars after.
const (
	chartWidth = 640.0
	labelWidth = 200.0
	barSpace   = 300.0
	barHeight  = 22.0
	barGap     = 10.0
)

// place sizes a chart's bars against its largest.
func (c *chart) place() {
	largest := 0.0
	for _, b := range c.Bars {
		largest = math.Max(largest, b.Value)
	}
	for i := range c.Bars {
		b := &c.Bars[i]
		b.Y = float64(i) * (barHeight + barGap)
		if largest > 0 {
			b.W = math.Max(b.Value/largest*barSpace, 1)
		}
		x := 0.0
		for j := range b.Parts {
			p := &b.Parts[j]
			if b.Value > 0 {
				p.W = float64(p.Count) / b.Value * b.W
			}
			p.X, x = x, x+p.W
		}
	}
	c.Height = float64(len(c.Bars))*(barHeight+barGap) + barGap
}

// group is one type or severity's response times.
type group struct {
	Name                   string
	Incidents              int
	Acknowledged, Resolved int
	// MTTA and MTTR are mean seconds to acknowledge and to resolve (NaN: none yet).
	MTTA, MTTR float64
}

// insightsPage is the charts and the tables behind them.
type insightsPage struct {
	Periods                 []int
	Period                  int
	Since                   time.Time
	Total                   int
	PerWeek, Response, Late chart
	ByType, BySeverity      []group
	Deadlines               []store.DeadlineCount
}

// weeksOf reads ?weeks=, one of periods (12 when absent).
func weeksOf(r *http.Request) (int, error) {
	v := r.URL.Query().Get("weeks")
	if v == "" {
		return 12, nil
	}
	n, err := strconv.Atoi(v)
	for _, p := range periods {
		if err == nil && n == p {
			return n, nil
		}
	}
	return 0, incidentflow.Errorf(incidentflow.EINVALID, "weeks must be one of 4, 12, 26 or 52, not %q", v)
}

// loadInsights gathers the figures over the period asked for.
func (s *Server) loadInsights(r *http.Request, sess session) (api.Insights, int, clock, error) {
	c := s.clock(&sess.who)
	weeks, err := weeksOf(r)
	if err != nil {
		return api.Insights{}, 0, c, err
	}
	in, err := s.cfg.App.Insights(r.Context(), sess.who, weekStart(c.Now.In(c.Loc)).AddDate(0, 0, -7*(weeks-1)))
	return in, weeks, c, err
}

// weekStart is midnight of the Monday of t's week, in t's zone.
func weekStart(t time.Time) time.Time {
	back := (int(t.Weekday()) + 6) % 7
	return time.Date(t.Year(), t.Month(), t.Day()-back, 0, 0, 0, 0, t.Location())
}

// insights shows incidents over time, response times by type and
// severity, and how deadlines ended.
func (s *Server) insights(w http.ResponseWriter, r *http.Request, sess session) {
	in, weeks, c, err := s.loadInsights(r, sess)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := s.base(w, r, sess, "Insights", "insights")
	ip := insightsPage{Period: weeks, Periods: periods, Since: in.Since, Total: len(in.Incidents), Deadlines: in.Deadlines}

	ip.PerWeek = chart{ID: "per-week", Title: "Incidents declared per week",
		Caption: fmt.Sprintf("%d incidents declared in the %d weeks from %s", len(in.Incidents), weeks, c.When(in.Since))}
	counts := make([]int, weeks)
	for _, t := range in.Incidents {
		if k := int(t.DeclaredAt.In(c.Loc).Sub(in.Since).Hours() / (24 * 7)); k >= 0 && k < weeks {
			counts[k]++
		}
	}
	for k, n := range counts {
		ip.PerWeek.Bars = append(ip.PerWeek.Bars, bar{Label: "Week of " + in.Since.AddDate(0, 0, 7*k).Format("2 Jan"), Value: float64(n), Text: strconv.Itoa(n)})
	}
	ip.PerWeek.place()

	ip.ByType = groups(in.Incidents, func(t store.IncidentTimes) string { return t.Type })
	ip.BySeverity = groups(in.Incidents, func(t store.IncidentTimes) string { return t.Severity })
	ip.Response = chart{ID: "response", Title: "Mean time to acknowledge and to resolve, by type",
		Caption: "Mean time from declaring to acknowledging (MTTA) and to resolving (MTTR), of the incidents acknowledged or resolved"}
	for _, g := range ip.ByType {
		for _, m := range []struct {
			what string
			v    float64
		}{{"MTTA", g.MTTA}, {"MTTR", g.MTTR}} {
			b := bar{Label: g.Name + " " + m.what, Text: "none yet"}
			if !math.IsNaN(m.v) {
				b.Value, b.Text = m.v, span(time.Duration(m.v*float64(time.Second)))
			}
			ip.Response.Bars = append(ip.Response.Bars, b)
		}
	}
	ip.Response.place()

	ip.Late = chart{ID: "deadlines", Title: "Deadlines by outcome, by type", Caption: "Clocks falling due in the period: met on time, met late, missed, still open",
		Legend: []segment{{Class: "met", Label: "met"}, {Class: "met_late", Label: "met late"}, {Class: "missed", Label: "missed"}, {Class: "open", Label: "open"}, {Class: "abandoned", Label: "abandoned"}}}
	byType := map[string]*bar{}
	var order []string
	for _, d := range in.Deadlines {
		b := byType[d.Type]
		if b == nil {
			b = &bar{Label: d.Type}
			for _, l := range ip.Late.Legend {
				b.Parts = append(b.Parts, segment{Class: l.Class, Label: l.Label})
			}
			byType[d.Type] = b
			order = append(order, d.Type)
		}
		for i := range b.Parts {
			if b.Parts[i].Class == d.Status {
				b.Parts[i].Count += d.Count
				b.Value += float64(d.Count)
			}
		}
	}
	for _, t := range order {
		b := byType[t]
		var words []string
		for _, p := range b.Parts {
			if p.Count > 0 {
				words = append(words, fmt.Sprintf("%d %s", p.Count, p.Label))
			}
		}
		b.Text = strings.Join(words, ", ")
		ip.Late.Bars = append(ip.Late.Bars, *b)
	}
	ip.Late.place()
	p.Data = ip
	s.render(w, http.StatusOK, "insights.html", p)
}

// groups sums response times by a key, in the order keys first appear.
func groups(list []store.IncidentTimes, key func(store.IncidentTimes) string) []group {
	var out []group
	index := map[string]int{}
	acks, fixes := map[string]float64{}, map[string]float64{}
	for _, t := range list {
		k := key(t)
		i, ok := index[k]
		if !ok {
			i = len(out)
			index[k] = i
			out = append(out, group{Name: k})
		}
		g := &out[i]
		g.Incidents++
		if t.AcknowledgedAt != nil {
			g.Acknowledged++
			acks[k] += t.AcknowledgedAt.Sub(t.DeclaredAt).Seconds()
		}
		if t.ResolvedAt != nil {
			g.Resolved++
			fixes[k] += t.ResolvedAt.Sub(t.DeclaredAt).Seconds()
		}
	}
	for i := range out {
		g := &out[i]
		g.MTTA, g.MTTR = mean(acks[g.Name], g.Acknowledged), mean(fixes[g.Name], g.Resolved)
	}
	return out
}

func mean(sum float64, n int) float64 {
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}

// insightsCSV downloads the figures behind the charts.
func (s *Server) insightsCSV(w http.ResponseWriter, r *http.Request, sess session) {
	name := r.PathValue("file")
	in, _, _, err := s.loadInsights(r, sess)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var rows [][]string
	seconds := func(from time.Time, to *time.Time) string {
		if to == nil {
			return ""
		}
		return strconv.FormatInt(int64(to.Sub(from).Seconds()), 10)
	}
	stamp := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	figure := func(v float64) string {
		if math.IsNaN(v) {
			return ""
		}
		return strconv.FormatInt(int64(math.Round(v)), 10)
	}
	switch name {
	case "incidents.csv":
		rows = append(rows, []string{"ref", "type", "severity", "status", "declared_at", "acknowledged_at", "resolved_at", "seconds_to_acknowledge", "seconds_to_resolve"})
		for _, t := range in.Incidents {
			rows = append(rows, []string{t.Ref, t.Type, t.Severity, t.Status, stamp(&t.DeclaredAt), stamp(t.AcknowledgedAt), stamp(t.ResolvedAt),
				seconds(t.DeclaredAt, t.AcknowledgedAt), seconds(t.DeclaredAt, t.ResolvedAt)})
		}
	case "response.csv":
		rows = append(rows, []string{"by", "name", "incidents", "acknowledged", "mtta_seconds", "resolved", "mttr_seconds"})
		for _, by := range []struct {
			name string
			key  func(store.IncidentTimes) string
		}{{"type", func(t store.IncidentTimes) string { return t.Type }}, {"severity", func(t store.IncidentTimes) string { return t.Severity }}} {
			for _, g := range groups(in.Incidents, by.key) {
				rows = append(rows, []string{by.name, g.Name, strconv.Itoa(g.Incidents), strconv.Itoa(g.Acknowledged), figure(g.MTTA), strconv.Itoa(g.Resolved), figure(g.MTTR)})
			}
		}
	case "deadlines.csv":
		rows = append(rows, []string{"type", "deadline", "status", "count"})
		for _, d := range in.Deadlines {
			rows = append(rows, []string{d.Type, d.Title, d.Status, strconv.Itoa(d.Count)})
		}
	default:
		s.notFound(w, r)
		return
	}
	var buf bytes.Buffer
	out := csv.NewWriter(&buf)
	for _, row := range rows {
		for i, cell := range row {
			row[i] = safeCell(cell)
		}
		_ = out.Write(row)
	}
	out.Flush()
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="incidentflow-`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}

// safeCell keeps a spreadsheet from reading text as a formula.
func safeCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
