package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/client"

	"github.com/incidentflow/incidentflow/api"
	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/links"
	"github.com/incidentflow/incidentflow/store"
	"github.com/incidentflow/incidentflow/web"
	"github.com/incidentflow/incidentflow/worker"
)

// linkSecretEnv holds the secret that signs action links.
// The link secret, and the one before it while a rotation is under way.
const (
	linkSecretEnv         = "INCIDENTFLOW_LINK_SECRET"
	previousLinkSecretEnv = "INCIDENTFLOW_LINK_SECRET_PREVIOUS"
)

// prodConfig configures api, worker and migrate.
type prodConfig struct {
	databaseURL string
	linkSecret  string
	// previousLinkSecret is the link secret before a rotation: its links
	// still work until they expire.
	previousLinkSecret string
	processesDir       string
	apiAddr            string
	publicURL          string
	uiURL              string
	metricsAddr        string
	// workerCache is how many runs a worker keeps in memory.
	workerCache int
	oidc        oidcConfig
	temporal    temporalConfig
	log         logConfig
	// signIn is the web app's OpenID Provider, once checked.
	signIn *web.OIDCConfig
}

func (e environment) prodFlags(name, summary string, c *prodConfig) *flags {
	f := e.flags(name, summary)
	f.secret(&c.databaseURL, "database-url", "DATABASE_URL", "PostgreSQL URL, postgres://user:password@host:5432/db")
	f.temporal(&c.temporal)
	f.logging(&c.log)
	if name != "migrate" {
		f.str(&c.processesDir, "processes", "INCIDENTFLOW_PROCESSES", "", "directory of process files and directory.yaml (default: the built-in processes)")
		f.secret(&c.linkSecret, "link-secret", linkSecretEnv, "secret that signs the action links in messages, the same for every api and worker (at least 32 bytes: openssl rand -hex 32)")
		f.secret(&c.previousLinkSecret, "link-secret-previous", previousLinkSecretEnv, "while rotating the link secret: the one before, whose links still work until they expire")
	}
	if name == "worker" {
		f.str(&c.metricsAddr, "metrics-addr", "INCIDENTFLOW_METRICS_ADDR", "", "serve Prometheus metrics at http://ADDR/metrics and the probes /healthz and /readyz (default: off)")
		f.workerCache(&c.workerCache)
	}
	if name == "api" {
		f.str(&c.apiAddr, "api-addr", "INCIDENTFLOW_API_ADDR", ":8080", "HTTP API listen address")
		f.str(&c.publicURL, "public-url", "INCIDENTFLOW_PUBLIC_URL", "", "URL people reach this API at, for links (default http://API-ADDR)")
		f.str(&c.uiURL, "ui-url", "INCIDENTFLOW_UI_URL", "http://127.0.0.1:8233", "URL of the Temporal Web UI, for links to runs")
		f.oidc(&c.oidc)
	}
	return f
}

func (c *prodConfig) check(f *flags, name string) {
	if name != "migrate" && len(c.linkSecret) < links.MinSecret {
		f.problem("--link-secret is required, at least %d bytes, the same for every api and worker: set INCIDENTFLOW_LINK_SECRET (or _FILE) to, for example, the output of openssl rand -hex 32", links.MinSecret)
	}
	switch {
	case c.databaseURL == "":
		f.problem("--database-url is required: set DATABASE_URL to a PostgreSQL URL")
	case !strings.HasPrefix(c.databaseURL, "postgres://") && !strings.HasPrefix(c.databaseURL, "postgresql://") && !strings.HasPrefix(c.databaseURL, "sqlite:"):
		f.problem("--database-url must start with postgres:// (or sqlite: for a single machine)")
	}
	f.checkTemporal(c.temporal)
	if c.apiAddr != "" {
		f.hostPort("api-addr", c.apiAddr)
	}
	if c.metricsAddr != "" {
		f.hostPort("metrics-addr", c.metricsAddr)
	}
	if name == "worker" {
		f.checkWorkerCache(c.workerCache)
	}
	f.httpURL("public-url", c.publicURL)
	f.httpURL("ui-url", c.uiURL)
	if name == "api" {
		c.signIn = f.checkOIDC(c.oidc, c.publicURL)
	}
}

// openChecked opens the database and refuses one whose schema is behind.
func openChecked(ctx context.Context, databaseURL string) (*store.Store, error) {
	st, err := store.Open(ctx, databaseURL)
	if err != nil {
		return nil, err
	}
	if err := st.CheckSchema(ctx); err != nil {
		_ = st.Close()
		return nil, err
	}
	return st, nil
}

// connected is what api and worker share: configuration checked, processes
// loaded, database and Temporal reached.
type connected struct {
	config prodConfig
	links  *links.Signer
	logger *slog.Logger
	cat    *dsl.Catalog
	store  *store.Store
	client client.Client
	// registry holds the process's metrics, the Temporal SDK's among them.
	registry *prometheus.Registry
}

// connect parses a command's flags and reaches its dependencies, refusing a
// database schema that is behind. release closes whatever was opened.
func (e environment) connect(ctx context.Context, name, summary string, args []string) (conn *connected, release func(), err error) {
	var c prodConfig
	f := e.prodFlags(name, summary, &c)
	if err := f.parse(args); err != nil {
		return nil, nil, err
	}
	logger := c.log.logger(f, e.stderr)
	c.check(f, name)
	if err := f.check(); err != nil {
		return nil, nil, err
	}
	cat, err := e.catalog(c.processesDir)
	if err != nil {
		return nil, nil, err
	}
	st, err := openChecked(ctx, c.databaseURL)
	if err != nil {
		return nil, nil, err
	}
	reg := newRegistry()
	cl, err := dialTemporal(ctx, c.temporal, logger, reg)
	if err != nil {
		_ = st.Close()
		return nil, nil, err
	}
	signer, err := links.New([]byte(c.linkSecret), []byte(c.previousLinkSecret))
	if err != nil {
		cl.Close()
		_ = st.Close()
		return nil, nil, err
	}
	st.SetAuditKey(store.AuditKey([]byte(c.linkSecret)))
	return &connected{config: c, links: signer, logger: logger, cat: cat, store: st, client: cl, registry: reg}, func() { cl.Close(); _ = st.Close() }, nil
}

func (e environment) api(ctx context.Context, args []string) error {
	conn, closeAll, err := e.connect(ctx, "api", "Runs the HTTP API against PostgreSQL and an external Temporal. Any number may run.", args)
	if err != nil {
		return err
	}
	defer closeAll()
	c := conn.config
	if c.publicURL == "" {
		host, port, _ := net.SplitHostPort(c.apiAddr)
		if host == "" {
			host = "127.0.0.1"
		}
		c.publicURL = "http://" + net.JoinHostPort(host, port)
	}
	server := api.New(apiConfig(conn.store, conn.client, conn.cat, conn.logger, c.publicURL, c.uiURL, c.temporal.namespace, conn.registry))
	wcfg := webConfig(server, conn.store, conn.links, conn.logger, c.publicURL)
	wcfg.OIDC = c.signIn
	if c.signIn == nil {
		conn.logger.Warn("no OpenID Provider is set: nobody can sign in to the web app (set INCIDENTFLOW_OIDC_ISSUER, _CLIENT_ID and _CLIENT_SECRET)")
	}
	app := web.New(wcfg)
	wait, err := serveHTTP(ctx, c.apiAddr, appHandler(server, app), conn.logger)
	if err != nil {
		return err
	}
	go server.RunReconciler(ctx, reconcileEvery)
	go app.Run(ctx, janitorEvery)
	conn.logger.Info("api listening", "addr", c.apiAddr, "temporal", c.temporal.address, "namespace", c.temporal.namespace, "processes", strings.Join(conn.cat.Types(), ","))
	return wait()
}

func (e environment) worker(ctx context.Context, args []string) error {
	conn, closeAll, err := e.connect(ctx, "worker", "Runs the Temporal worker for incident runs against PostgreSQL and an external Temporal. Any number may run.", args)
	if err != nil {
		return err
	}
	defer closeAll()
	reg := conn.registry
	if err := worker.SetCacheSize(conn.config.workerCache); err != nil {
		return err
	}
	w, err := startWorker(conn.client, conn.store, conn.cat, conn.links, conn.logger, e.getenv, e.stdout, reg)
	if err != nil {
		return err
	}
	if addr := conn.config.metricsAddr; addr != "" {
		h := worker.Handler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), map[string]func(context.Context) error{
			"database": conn.store.Ping,
			"temporal": func(ctx context.Context) error {
				_, err := conn.client.CheckHealth(ctx, &client.CheckHealthRequest{})
				return err
			},
		})
		wait, err := serveHTTP(ctx, addr, h, conn.logger)
		if err != nil {
			w.Stop()
			return fmt.Errorf("metrics: %w", err)
		}
		defer func() { _ = wait() }()
	}
	conn.logger.Info("worker running", "temporal", conn.config.temporal.address, "namespace", conn.config.temporal.namespace, "cache_size", worker.CacheSize())
	<-ctx.Done()
	w.Stop()
	conn.logger.Info("worker stopped")
	return nil
}

func (e environment) migrate(ctx context.Context, args []string) error {
	var c prodConfig
	f := e.prodFlags("migrate", "Applies the database migrations (under a lock, so replicas may start together) and registers\nthe incident search attributes on the Temporal namespace. Running it again changes nothing.", &c)
	skipTemporal := f.fs.Bool("skip-temporal", false, "only migrate the database")
	if err := f.parse(args); err != nil {
		return err
	}
	logger := c.log.logger(f, e.stderr)
	c.check(f, "migrate")
	if err := f.check(); err != nil {
		return err
	}
	st, err := store.Open(ctx, c.databaseURL)
	if err != nil {
		return err
	}
	defer func() { _ = st.Close() }()
	n, err := st.Migrate(ctx)
	if err != nil {
		return err
	}
	version, _ := st.SchemaVersion()
	fmt.Fprintf(e.stdout, "database: applied %d migration(s); schema at version %d\n", n, version)
	if *skipTemporal {
		return nil
	}
	cl, err := dialTemporal(ctx, c.temporal, logger, nil)
	if err != nil {
		return err
	}
	defer cl.Close()
	added, err := registerSearchAttributes(ctx, cl, c.temporal.namespace)
	if err != nil {
		return err
	}
	if len(added) == 0 {
		fmt.Fprintf(e.stdout, "temporal: search attributes already registered on %s\n", c.temporal.namespace)
	} else {
		fmt.Fprintf(e.stdout, "temporal: registered %s on %s\n", strings.Join(added, ", "), c.temporal.namespace)
	}
	return nil
}
