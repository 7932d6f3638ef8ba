package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/processes"
)

// A sign-in sends people on only to a path of this app.
func TestLocalPath(t *testing.T) {
	for next, want := range map[string]string{
		"/incidents/INC-4?x=1":   "/incidents/INC-4?x=1",
		"":                       "/",
		"https://evil.example/":  "/",
		"//evil.example/":        "/",
		"/\\evil.example/":       "/",
		"incidents":              "/",
		"/ok\r\nSet-Cookie: a=b": "/",
		"javascript:alert(1)":    "/",
	} {
		require.Equal(t, want, localPath(next), next)
	}
}

// A CSV cell a spreadsheet would run as a formula is quoted.
func TestSafeCell(t *testing.T) {
	require.Equal(t, "'=HYPERLINK(\"x\")", safeCell(`=HYPERLINK("x")`))
	require.Equal(t, "'+1", safeCell("+1"))
	require.Equal(t, "'@SUM(A1)", safeCell("@SUM(A1)"))
	require.Equal(t, "Checkout is down", safeCell("Checkout is down"))
	require.Equal(t, "", safeCell(""))
}

// The OpenID Provider's word that an address is verified is true, or "true".
func TestClaimsVerified(t *testing.T) {
	require.True(t, claims{Verified: true}.verified())
	require.True(t, claims{Verified: "true"}.verified())
	require.False(t, claims{Verified: false}.verified())
	require.False(t, claims{Verified: "no"}.verified())
	require.False(t, claims{}.verified())
}

// People are found by e-mail in any case, and not when two share it.
func TestPersonByEmail(t *testing.T) {
	dir := &dsl.Directory{People: []dsl.Person{
		{ID: "alice", Email: "Alice@Example.com"}, {ID: "bob", Email: "ops@example.com"}, {ID: "carol", Email: "OPS@example.com"}, {ID: "dan"}}}
	p, ok := personByEmail(dir, "alice@example.COM")
	require.True(t, ok)
	require.Equal(t, "alice", p.ID)
	_, ok = personByEmail(dir, "ops@example.com")
	require.False(t, ok, "a shared address names nobody for sure")
	_, ok = personByEmail(dir, "")
	require.False(t, ok, "no address is nobody's")
}

// The problems of a refused declaration lead to their inputs.
func TestProblems(t *testing.T) {
	got := problems([]incidentflow.Detail{{Field: "title", Message: "is required"}, {Field: "fields.service", Message: "is required"},
		{Field: "fields", Message: "are too long"}, {Field: "type", Message: "is unknown"}})
	require.Equal(t, []formProblem{{"d-title", "Title is required"}, {"d-field-service", "service is required"},
		{"", "The fields are too long"}, {"", "is unknown"}}, got)
}

// Every step of every built-in process says what it does in words.
func TestDescribeBuiltIns(t *testing.T) {
	cat, err := dsl.Load(processes.FS, "processes")
	require.NoError(t, err)
	var walk func(ws []sentence)
	walk = func(ws []sentence) {
		for _, w := range ws {
			require.NotEmpty(t, w.Text, "step %q", w.Name)
			require.NotContains(t, w.Text, "%!", "a formatting slip in %q", w.Text)
			walk(w.Sub)
			walk(w.Then)
		}
	}
	for _, p := range cat.Processes {
		walk(describeSteps(p.Steps))
		for _, h := range p.Handlers {
			require.NotEqual(t, "On "+h.On, describeTrigger(h.On), "trigger %s is not put in words", h.On)
			walk(describeSteps(h.Steps))
		}
	}
	security := describeSteps(cat.Processes["security"].Steps)
	var texts []string
	for _, w := range security {
		texts = append(texts, w.Text)
	}
	require.Contains(t, strings.Join(texts, "\n"), "Pages through the escalation policy security-oncall until someone acknowledges")
	counted := cat.Processes["operational"].Handlers[0]
	require.Equal(t, "When the field customers affected changes, once each time the change makes fields.customers_affected > 100 true",
		describeTrigger(counted.On)+describeWhen(counted))
	counted.EveryChange = true
	require.Equal(t, ", while fields.customers_affected > 100", describeWhen(counted))
}

// An approval that reminds says whom, and how often.
func TestDescribeReminders(t *testing.T) {
	every, err := dsl.ParseDuration("4h")
	require.NoError(t, err)
	w := describeSteps([]dsl.Step{{Approval: &dsl.Approval{Role: "dpo", RemindEvery: &every,
		Remind: []dsl.Target{{Kind: "role", ID: "dpo"}, {Kind: "team", ID: "legal"}}}}})
	require.Equal(t, "Waits for the dpo to approve, reminding the dpo and the legal team every 4h", w[0].Text)
}

// Spans of time read in their two largest units.
func TestSpan(t *testing.T) {
	for d, want := range map[time.Duration]string{
		30 * time.Second: "less than a minute", 5 * time.Minute: "5m", 3*time.Hour + 10*time.Minute: "3h 10m",
		2 * time.Hour: "2h", 50 * time.Hour: "2d 2h", 72 * time.Hour: "3d",
	} {
		require.Equal(t, want, span(d), d.String())
	}
}

// Weeks start on Monday at midnight, in the reader's zone.
func TestWeekStart(t *testing.T) {
	london, err := time.LoadLocation("Europe/London")
	require.NoError(t, err)
	sunday := time.Date(2026, 11, 29, 23, 30, 0, 0, london)
	require.Equal(t, time.Date(2026, 11, 23, 0, 0, 0, 0, london), weekStart(sunday))
	monday := time.Date(2026, 11, 30, 0, 0, 0, 0, london)
	require.Equal(t, monday, weekStart(monday))
}

// Cookies are HttpOnly and SameSite=Lax always, and Secure and __Host-
// behind https.
func TestCookies(t *testing.T) {
	for _, secure := range []bool{false, true} {
		s := &Server{secure: secure}
		w := httptest.NewRecorder()
		s.setCookie(w, "session", "id", time.Hour)
		c := w.Result().Cookies()[0]
		require.True(t, c.HttpOnly)
		require.Equal(t, http.SameSiteLaxMode, c.SameSite)
		require.Equal(t, "/", c.Path)
		require.Equal(t, secure, c.Secure)
		require.Equal(t, secure, strings.HasPrefix(c.Name, "__Host-"), c.Name)
		require.Equal(t, 3600, c.MaxAge)
	}
}
