package web

// Holes found by hostile testing of the web app, each a test of what
// must hold. They run on the real thing: the
// store on PostgreSQL (storetest), an embedded Temporal server, a worker,
// the API and the web app over HTTP, with the browser suite's processes and
// directory (a viewer, a restricted process, an outsider).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/activities"
	"github.com/incidentflow/incidentflow/api"
	"github.com/incidentflow/incidentflow/channels"
	"github.com/incidentflow/incidentflow/devserver"
	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/links"
	"github.com/incidentflow/incidentflow/store"
	"github.com/incidentflow/incidentflow/store/storetest"
	"github.com/incidentflow/incidentflow/worker"
	"github.com/incidentflow/incidentflow/workflows"
)

// holeStack is the system the hole tests attack, shared by them.
type holeStack struct {
	store   *store.Store
	app     *api.Server
	signer  *links.Signer
	url     string
	config  api.Config // h.app's
	console *holeLines
}

// ownApp is a replica of the API of its own: its budget of anonymous
// refusals is not spent by the tests before.
func (h *holeStack) ownApp(c *Config) { c.App = api.New(h.config) }

var (
	holeOnce     sync.Once
	holeShared   *holeStack
	holeErr      error
	holeTeardown []func()
)

func TestMain(m *testing.M) {
	code := m.Run()
	for i := len(holeTeardown) - 1; i >= 0; i-- {
		holeTeardown[i]()
	}
	storetest.Stop()
	os.Exit(code)
}

// holeSetup starts (once) the stack the hole tests share.
func holeSetup(t *testing.T) *holeStack {
	t.Helper()
	if testing.Short() {
		t.Skip("the hole tests start PostgreSQL and Temporal")
	}
	holeOnce.Do(func() { holeShared, holeErr = startHoleStack(t, storetest.URL(t, store.Postgres)) })
	if holeErr != nil {
		t.Fatal(holeErr)
	}
	return holeShared
}

// holeLines is the console channel: the messages it printed.
type holeLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *holeLines) Println(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
}

// printed is what the console printed so far.
func (l *holeLines) printed() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// startHoleStack starts an embedded Temporal server, a worker, the API and
// the web app over the store at dbURL; it is stopped when TestMain ends.
func startHoleStack(t testing.TB, dbURL string) (*holeStack, error) {
	ctx := context.Background()
	port, err := devserver.FreePort("127.0.0.1")
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	attrs := workflows.SearchAttributeTypes()
	srv, err := devserver.Start(ctx, devserver.Options{FrontendAddr: addr, SearchAttributes: attrs})
	if err != nil {
		return nil, err
	}
	holeTeardown = append(holeTeardown, srv.Stop)
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	if _, err := st.Migrate(ctx); err != nil {
		return nil, err
	}
	holeTeardown = append(holeTeardown, func() { _ = st.Close() })
	cl, err := client.Dial(client.Options{HostPort: addr, Logger: quietSDK{}})
	if err != nil {
		return nil, err
	}
	holeTeardown = append(holeTeardown, cl.Close)
	cat, err := dsl.Load(os.DirFS("e2e/processes"), "e2e/processes")
	if err != nil {
		return nil, err
	}
	signer, err := links.New([]byte(strings.Repeat("s", links.MinSecret)))
	if err != nil {
		return nil, err
	}
	console := &holeLines{}
	senders, problems := channels.Build(cat.Directory, channels.Config{Console: console, Getenv: os.Getenv})
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	w := worker.New(cl, &activities.Activities{Store: st, Directory: cat.Directory, Channels: senders, Links: signer})
	if err := w.Start(); err != nil {
		return nil, err
	}
	holeTeardown = append(holeTeardown, w.Stop)
	h := &holeStack{store: st, signer: signer, console: console}
	base := httptest.NewServer(nil)
	holeTeardown = append(holeTeardown, base.Close)
	h.url = base.URL
	h.config = api.Config{Store: st, Temporal: cl, Catalog: cat, BaseURL: base.URL, UIURL: "http://127.0.0.1:8233", Namespace: "default"}
	h.app = api.New(h.config)
	base.Config.Handler = h.app.Handler()
	return h, nil
}

type quietSDK struct{}

func (quietSDK) Debug(string, ...any) {}
func (quietSDK) Info(string, ...any)  {}
func (quietSDK) Warn(string, ...any)  {}
func (quietSDK) Error(string, ...any) {}

// sentLinks is dev's LinkSender as the tests see it: the sign-in links sent, by person.
type sentLinks struct {
	mu   sync.Mutex
	sent map[string][]string
}

func (l *sentLinks) SendSignIn(_ context.Context, p dsl.Person, link string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sent == nil {
		l.sent = map[string][]string{}
	}
	l.sent[p.ID] = append(l.sent[p.ID], link)
	return nil
}

func (l *sentLinks) to(person string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.sent[person]...)
}

// site is one replica of the web app (and the API) over HTTP, on the shared stack.
type site struct {
	*httptest.Server
	web  *Server
	sent *sentLinks
}

// site serves the web app with dev's sign-in links, edited by edit.
func (h *holeStack) site(t *testing.T, edit func(*Config)) *site {
	t.Helper()
	s := &site{sent: &sentLinks{}}
	s.Server = httptest.NewServer(nil)
	t.Cleanup(s.Close)
	cfg := Config{App: h.app, Store: h.store, Links: h.signer, PublicURL: s.URL, SignInLinks: s.sent, Logger: slog.New(slog.DiscardHandler)}
	if edit != nil {
		edit(&cfg)
	}
	s.web = New(cfg)
	mux := http.NewServeMux()
	for _, p := range []string{"/v1/", "/healthz", "/metrics"} {
		mux.Handle(p, cfg.App.Handler())
	}
	mux.Handle("/", s.web.Handler())
	s.Config.Handler = mux
	return s
}

// browser is one person's browser: its cookies, never following redirects.
type browser struct {
	t    *testing.T
	site *site
	c    *http.Client
	csrf string
}

func (s *site) browser(t *testing.T) *browser {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &browser{t: t, site: s, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type answer struct {
	status int
	body   string
	header http.Header
}

func (b *browser) do(ctx context.Context, method, path string, form url.Values) answer {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, b.site.URL+path, body)
	require.NoError(b.t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	require.NoError(b.t, err)
	defer func() { _ = resp.Body.Close() }()
	raw, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, body: string(raw), header: resp.Header}
}

func (b *browser) get(path string) answer {
	b.t.Helper()
	return b.do(context.Background(), "GET", path, nil)
}

// post sends a form, with the session's CSRF token unless it has one.
func (b *browser) post(path string, kv ...string) answer {
	b.t.Helper()
	form := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		form.Add(kv[i], kv[i+1])
	}
	if !form.Has("csrf") && b.csrf != "" {
		form.Set("csrf", b.csrf)
	}
	return b.do(context.Background(), "POST", path, form)
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// token is the CSRF token of the page's forms.
func token(t *testing.T, page string) string {
	t.Helper()
	m := csrfInput.FindStringSubmatch(page)
	require.NotNil(t, m, "the page has a form with a CSRF token:\n%s", page)
	return m[1]
}

// signIn signs person in as dev does: a link sent through their channel,
// opened and pressed.
func (b *browser) signIn(person string) *browser {
	b.t.Helper()
	page := b.get("/signin")
	require.Equal(b.t, http.StatusOK, page.status, page.body)
	before := len(b.site.sent.to(person))
	sent := b.post("/signin", "csrf", token(b.t, page.body), "who", person)
	require.Equal(b.t, http.StatusOK, sent.status, sent.body)
	got := b.site.sent.to(person)
	require.Len(b.t, got, before+1, "a sign-in link went to %s", person)
	path := strings.TrimPrefix(got[len(got)-1], b.site.URL)
	shown := b.get(path)
	require.Equal(b.t, http.StatusOK, shown.status, shown.body)
	used := b.post(path, "csrf", token(b.t, shown.body))
	require.Equal(b.t, http.StatusSeeOther, used.status, used.body)
	home := b.get("/")
	require.Equal(b.t, http.StatusOK, home.status, home.body)
	b.csrf = token(b.t, home.body)
	return b
}

// declare declares an incident as person, through the API's own method.
func (h *holeStack) declare(t *testing.T, person string, req api.DeclareRequest) string {
	t.Helper()
	who, err := h.app.Principal(incidentflow.PersonPrincipal, person, incidentflow.RoleResponder)
	require.NoError(t, err)
	inc, _, err := h.app.DeclareAs(context.Background(), who, req, "")
	require.NoError(t, err)
	return inc.Ref
}

func (h *holeStack) outage(t *testing.T, title string) string {
	t.Helper()
	return h.declare(t, "alice", api.DeclareRequest{Type: "outage", Title: title, Severity: "minor", Fields: map[string]any{"service": "checkout"}})
}

// lastSeq is where the audit log stands.
func (h *holeStack) lastSeq(t *testing.T) int64 {
	t.Helper()
	all, err := h.store.Audit(context.Background(), 0, 1_000_000)
	require.NoError(t, err)
	if len(all) == 0 {
		return 0
	}
	return all[len(all)-1].Seq
}

// auditSince is the audit log written after seq.
func (h *holeStack) auditSince(t *testing.T, seq int64) []store.AuditEntry {
	t.Helper()
	got, err := h.store.Audit(context.Background(), seq, 1_000_000)
	require.NoError(t, err)
	return got
}

// anyOIDC is an OpenID Provider nobody runs: the callback's refusals come
// before the app ever asks it anything.
var anyOIDC = &OIDCConfig{Issuer: "http://127.0.0.1:1/", ClientID: "web", ClientSecret: "secret"}

// The API writes anonymous refusals one by one up to 60 a minute and counts
// the rest in one entry, "so that no flood of them can fill the log or hold
// its lock" (api/refusals.go). The web app writes every anonymous refusal
// by itself, whatever the rate: the OpenID callback with ?error=, the
// sign-in form with a name nobody has, forged action and sign-in links.
// Anyone on the internet can fill the audit log, one cheap GET at a time.
func TestAnonymousWebRefusalsFloodTheAuditLog(t *testing.T) {
	h := holeSetup(t)
	s := h.site(t, func(c *Config) { c.OIDC = anyOIDC })
	b := s.browser(t)
	form := token(t, b.get("/signin").body)
	seq := h.lastSeq(t)
	const each = 50
	for i := range each {
		b.get("/signin/callback?error=access_denied")
		b.get(fmt.Sprintf("/act/forged-%d.x", i))
		b.get(fmt.Sprintf("/signin/link/forged-%d.x", i))
		b.post("/signin", "csrf", form, "who", fmt.Sprintf("nobody-%d@example.com", i))
	}
	written := h.auditSince(t, seq)
	require.LessOrEqual(t, len(written), 61,
		"%d anonymous requests in a minute wrote %d audit entries: beyond the API's 60 a minute they must be counted, not written one by one",
		4*each, len(written))
}

// The API keeps at most 500 characters of what a request said in its audit
// entry (api/access.go maxDetail). The web app writes whatever the request
// carried: an anonymous GET of the OpenID callback puts 100,000 characters of
// its choosing into one entry, and a responder's signal name of 200,000
// characters goes in whole too.
func TestWebAuditEntriesAreUnbounded(t *testing.T) {
	h := holeSetup(t)
	s := h.site(t, func(c *Config) { c.OIDC = anyOIDC })
	seq := h.lastSeq(t)
	anon := s.browser(t)
	anon.get("/signin/callback?error=access_denied&error_description=" + strings.Repeat("A", 100_000))

	ref := h.outage(t, "Unbounded audit details")
	alice := s.browser(t).signIn("alice")
	refused := alice.post("/incidents/"+ref+"/signals", "name", strings.Repeat("n", 200_000))
	require.GreaterOrEqual(t, refused.status, 400, "a signal the process does not take is refused")

	for _, e := range h.auditSince(t, seq) {
		require.LessOrEqual(t, len([]rune(e.Detail)), 500, "audit entry %d (%s %s by %s) keeps %d characters of what the request said",
			e.Seq, e.Via, e.Action, e.Principal, len([]rune(e.Detail)))
	}
}

// "An append-only audit log holds every authenticated action and every
// refused attempt." The web app writes the request's own bytes into the
// entry (the callback's ?error=, the path of a forged form), and PostgreSQL
// refuses text that is not UTF-8: the entry is dropped with a log line, so
// a prober who adds %ff to a request is refused without a trace. The API
// quotes such text (api/access.go printable) to keep it in the log.
func TestInvalidUTF8KeepsWebRefusalsOutOfTheAuditLog(t *testing.T) {
	h := holeSetup(t)
	s := h.site(t, func(c *Config) { c.OIDC = anyOIDC })

	t.Run("OpenIDCallback", func(t *testing.T) {
		s := h.site(t, func(c *Config) { c.OIDC = anyOIDC; h.ownApp(c) })
		seq := h.lastSeq(t)
		refused := s.browser(t).get("/signin/callback?error=%ff%fe")
		require.Equal(t, http.StatusUnauthorized, refused.status, refused.body)
		require.NotEmpty(t, h.auditSince(t, seq), "the refused OpenID sign-in with error=%ff%fe is in the audit log")
	})
	t.Run("ForgedForm", func(t *testing.T) {
		alice := s.browser(t).signIn("alice")
		seq := h.lastSeq(t)
		forged := alice.post("/incidents/INC-1%ff/status", "csrf", "forged", "status", "resolved")
		require.Equal(t, http.StatusForbidden, forged.status, forged.body)
		require.NotEmpty(t, h.auditSince(t, seq), "alice's forged form (a wrong CSRF token) on /incidents/INC-1%ff/status is in the audit log")
	})
}

// The sign-in form sends a link through the person's own channel (their
// page_via: a pager, Slack, e-mail) to anyone who asks, with no limit: an
// anonymous visitor who knows an id or an e-mail address (the on-call page
// lists them) pages that person as often as they like.
func TestSignInLinksFloodAPersonsChannel(t *testing.T) {
	h := holeSetup(t)
	s := h.site(t, nil)
	b := s.browser(t)
	form := token(t, b.get("/signin").body)
	for range 20 {
		sent := b.post("/signin", "csrf", form, "who", "bob@example.com")
		require.Equal(t, http.StatusOK, sent.status, sent.body)
	}
	require.LessOrEqual(t, len(s.sent.to("bob")), 5, "twenty anonymous requests in a few seconds sent bob %d sign-in links through his own channel", len(s.sent.to("bob")))
}

var location = regexp.MustCompile(`^/incidents/(INC-\d+)$`)

// The declare form carries a key so that sending it twice declares once.
// The API refuses a key used again for another declaration (its
// Idempotency-Key covers the whole body: api.sameDeclaration); the web app
// does not ask, and answers "You declared INC-N" with the first incident. A
// person who goes back to the form (the browser keeps it, key and all),
// changes it and sends it for a second incident has it dropped without a word.
func TestDeclareFormKeyReusedDropsTheNewDeclaration(t *testing.T) {
	h := holeSetup(t)
	s := h.site(t, nil)
	alice := s.browser(t).signIn("alice")
	form := alice.get("/declare/outage")
	require.Equal(t, http.StatusOK, form.status, form.body)
	key := regexp.MustCompile(`name="key" value="([^"]+)"`).FindStringSubmatch(form.body)
	require.NotNil(t, key, form.body)

	first := alice.post("/declare/outage", "key", key[1], "title", "Checkout is down", "severity", "minor", "field.service", "checkout")
	require.Equal(t, http.StatusSeeOther, first.status, first.body)
	firstRef := location.FindStringSubmatch(first.header.Get("Location"))
	require.NotNil(t, firstRef, first.header.Get("Location"))

	second := alice.post("/declare/outage", "key", key[1], "title", "Payments are down", "severity", "critical", "field.service", "payments")
	if m := location.FindStringSubmatch(second.header.Get("Location")); m != nil {
		inc, err := h.store.Incident(context.Background(), m[1])
		require.NoError(t, err)
		require.Equal(t, "Payments are down", inc.Title,
			"the second declaration (another title, severity and service, the same form key) was answered with %s, %q: it is lost", m[1], inc.Title)
	}
}

// Each form of the incident page carries a nonce ("once") that makes its
// action happen once: the Temporal Update ID is web-<person>-<once>,
// whatever the form says. app.js leaves a live part in place when only its
// nonces changed (same() ignores them), so after adding a note the note
// form keeps the nonce it was sent with, and the next note from that page
// goes with the same one. Temporal takes it as the first update again: the
// page says "Your note is on the timeline" and the note is not.
func TestSameFormNonceSwallowsADifferentNote(t *testing.T) {
	h := holeSetup(t)
	s := h.site(t, nil)
	ref := h.outage(t, "Two notes from one page")
	alice := s.browser(t).signIn("alice")
	once := "n" + strings.Repeat("1", 20)
	first := alice.post("/incidents/"+ref+"/notes", "once", once, "text", "Rolled back the deploy")
	require.Equal(t, http.StatusSeeOther, first.status, first.body)
	second := alice.post("/incidents/"+ref+"/notes", "once", once, "text", "Error rate is back to normal")
	events, err := h.store.Timeline(context.Background(), ref)
	require.NoError(t, err)
	var notes []string
	for _, e := range events {
		if e.Kind == "note" {
			notes = append(notes, e.Message)
		}
	}
	if second.status == http.StatusSeeOther {
		require.Contains(t, notes, "Error rate is back to normal",
			"the second note was answered %d (%s) as done, and the timeline holds only %q", second.status, second.header.Get("Location"), notes)
	}
}

// flakyStore is the real store whose session reads fail, while fail is
// set, as they do when the database is unreachable.
type flakyStore struct {
	*store.Store
	fail atomic.Bool
}

func (f *flakyStore) SessionByID(ctx context.Context, id string) (store.Session, error) {
	if f.fail.Load() {
		return store.Session{}, &incidentflow.Error{Code: incidentflow.EUNAVAILABLE, Message: "the database is unreachable"}
	}
	return f.Store.SessionByID(ctx, id)
}

// A session is a row of the store. When the store does not answer for a
// moment, the web app takes every session for ended: it deletes the
// browser's session cookie and sends the person to sign in, so that a
// database blink signs everyone out for good (and a form sent during it is
// answered "You are not signed in" and lost). It should say the app is
// unavailable and keep the cookie.
func TestDatabaseBlinkSignsPeopleOut(t *testing.T) {
	h := holeSetup(t)
	flaky := &flakyStore{Store: h.store}
	s := h.site(t, func(c *Config) { c.Store = flaky })
	alice := s.browser(t).signIn("alice")

	flaky.fail.Store(true)
	during := alice.get("/incidents")
	flaky.fail.Store(false)
	for _, c := range (&http.Response{Header: during.header}).Cookies() {
		require.False(t, strings.HasSuffix(c.Name, "-session") && c.MaxAge < 0,
			"a moment without the database deleted alice's session cookie (answer %d, to %s)", during.status, during.header.Get("Location"))
	}
	after := alice.get("/incidents")
	require.Equal(t, http.StatusOK, after.status, "alice is still signed in once the database answers again (got %d, to %s)", after.status, after.header.Get("Location"))
}

// People are matched to the directory by their verified e-mail address
// "in any case", with strings.EqualFold, which folds Unicode: the Kelvin
// sign K (U+212A) is k, the long s ſ (U+017F) is s. Those are other
// addresses, at other domains (xn--…): whoever owns such a domain and has
// its address verified by the OpenID Provider signs in as the person whose
// address it imitates.
func TestLookalikeEmailSignsInAsSomeoneElse(t *testing.T) {
	h := holeSetup(t)
	cat, err := dsl.Load(fstest.MapFS{"directory.yaml": {Data: []byte(`people:
  - {id: kim, name: Kim Admin, email: kim@kpmg.example, access: admin}
  - {id: sam, name: Sam Stone, email: sam@stripe.example}
default_channel: console
channels:
  - {id: console, type: console}
`)}, "minimal.yaml": {Data: []byte(`process: minimal
title: Minimal
severities: [minor]
steps:
  - notify: {to: [channel:console], message: "{{ .Incident.Title }}"}
`)}}, "test")
	require.NoError(t, err)
	app := api.New(api.Config{Store: h.store, Catalog: cat})
	s := New(Config{App: app, Store: h.store, Links: h.signer, PublicURL: "http://app.example"})
	for _, forged := range []string{"kim@\u212Apmg.example", "\u212Aim@kpmg.example", "sam@\u017Ftripe.example", "\u017Fam@stripe.example"} {
		w := httptest.NewRecorder()
		refuse := func(status int, _, problem string, _ error) { w.WriteHeader(status); _, _ = io.WriteString(w, problem) }
		s.admit(w, httptest.NewRequest("GET", "/signin/callback", nil), claims{Email: forged, Verified: true}, "/", refuse)
		for _, c := range w.Result().Cookies() {
			require.False(t, strings.HasSuffix(c.Name, "-session") && c.MaxAge > 0,
				"the verified address %q (%+q) signed in as someone of the directory: %d %s", forged, forged, w.Code, w.Body.String())
		}
	}
}

// The OpenID callback shows the provider's error_description on the
// sign-in page, and anyone can write it: a link to
// /signin/callback?error=x&error_description=... puts any sentence under
// the app's own name and address (a phishing page on the real host).
func TestSignInPageShowsWhatALinkSays(t *testing.T) {
	h := holeSetup(t)
	s := h.site(t, func(c *Config) { c.OIDC = anyOIDC })
	lure := "Your account is locked. Call the service desk on +1 555 0100 and give them your password."
	page := s.browser(t).get("/signin/callback?error=access_denied&error_description=" + url.QueryEscape(lure))
	require.Equal(t, http.StatusUnauthorized, page.status, page.body)
	require.Contains(t, page.body, "did not sign you in")
	require.NotContains(t, page.body, "Call the service desk", "the sign-in page says what the link's query wrote")
	page = s.browser(t).get("/signin/callback?error=" + url.QueryEscape(lure))
	require.NotContains(t, page.body, "Call the service desk", "the sign-in page says what the link's error code wrote")
}
