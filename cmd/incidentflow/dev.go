package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/incidentflow/incidentflow/api"
	"github.com/incidentflow/incidentflow/devserver"
	"github.com/incidentflow/incidentflow/links"
	"github.com/incidentflow/incidentflow/store"
	"github.com/incidentflow/incidentflow/web"
	"github.com/incidentflow/incidentflow/worker"
	"github.com/incidentflow/incidentflow/workflows"
)

// devConfig configures `incidentflow dev`.
type devConfig struct {
	dataDir, processesDir         string
	apiAddr, temporalAddr, uiAddr string
	workerCache                   int
	oidc                          oidcConfig
	log                           logConfig
}

func (e environment) dev(ctx context.Context, args []string) error {
	var c devConfig
	f := e.flags("dev", "Runs everything in one process: an embedded Temporal server and its Web UI, the app database\n(SQLite), the worker and the HTTP API. Data lives in --data; stop and start again to carry on.")
	f.str(&c.dataDir, "data", "INCIDENTFLOW_DATA", ".incidentflow", "directory for Temporal's and the app's SQLite databases")
	f.str(&c.processesDir, "processes", "INCIDENTFLOW_PROCESSES", "", "directory of process files and directory.yaml (default: the built-in processes)")
	f.str(&c.apiAddr, "api-addr", "INCIDENTFLOW_API_ADDR", "127.0.0.1:8080", "HTTP API listen address")
	f.str(&c.temporalAddr, "temporal-addr", "INCIDENTFLOW_TEMPORAL_ADDR", "127.0.0.1:7233", "embedded Temporal frontend listen address")
	f.str(&c.uiAddr, "ui-addr", "INCIDENTFLOW_UI_ADDR", "127.0.0.1:8233", "Temporal Web UI listen address")
	f.workerCache(&c.workerCache)
	f.oidc(&c.oidc)
	f.logging(&c.log)
	if err := f.parse(args); err != nil {
		return err
	}
	logger := c.log.logger(f, e.stderr)
	f.checkWorkerCache(c.workerCache)
	for name, addr := range map[string]string{"api-addr": c.apiAddr, "temporal-addr": c.temporalAddr, "ui-addr": c.uiAddr} {
		f.hostPort(name, addr)
	}
	apiURL, uiURL := "http://"+c.apiAddr, "http://"+c.uiAddr
	signIn := f.checkOIDC(c.oidc, apiURL)
	if err := f.check(); err != nil {
		return err
	}

	cat, err := e.catalog(c.processesDir)
	if err != nil {
		return err
	}
	for _, w := range cat.Warnings {
		logger.Warn(w.String())
	}
	dataDir, err := filepath.Abs(c.dataDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}

	// Before the embedded server, whose own workers share the SDK's cache.
	if err := worker.SetCacheSize(c.workerCache); err != nil {
		return err
	}
	attrs := workflows.SearchAttributeTypes()
	srv, err := devserver.Start(ctx, devserver.Options{DataDir: dataDir, FrontendAddr: c.temporalAddr, UIAddr: c.uiAddr,
		SearchAttributes: attrs, Logger: logger})
	if err != nil {
		return err
	}
	defer srv.Stop()

	st, err := store.Open(ctx, "sqlite:"+filepath.Join(dataDir, "incidentflow.db"))
	if err != nil {
		return err
	}
	defer func() { _ = st.Close() }()
	if _, err := st.Migrate(ctx); err != nil {
		return err
	}
	secret, err := devSecret(dataDir)
	if err != nil {
		return fmt.Errorf("dev secret: %w", err)
	}
	st.SetAuditKey(store.AuditKey(secret))
	signer, err := links.New(secret)
	if err != nil {
		return err
	}
	tokenPath, newToken, err := devToken(ctx, st, dataDir)
	if err != nil {
		return fmt.Errorf("dev token: %w", err)
	}

	const namespace = "default"
	reg := newRegistry() // the SDK's, the worker's and the API's metrics, served at the API's /metrics
	cl, err := dialTemporal(ctx, temporalConfig{address: c.temporalAddr, namespace: namespace}, logger, reg)
	if err != nil {
		return err
	}
	defer cl.Close()

	w, err := startWorker(cl, st, cat, signer, logger, e.getenv, e.stdout, reg)
	if err != nil {
		return err
	}
	defer w.Stop()

	server := api.New(apiConfig(st, cl, cat, logger, apiURL, uiURL, namespace, reg))
	// In dev, people sign in with a one-time link through their own
	// channel (the console), and with an OpenID Provider when one is set.
	wcfg := webConfig(server, st, signer, logger, apiURL)
	wcfg.OIDC, wcfg.SignInLinks = signIn, newSignInSender(cat.Directory, e.getenv, e.stdout)
	app := web.New(wcfg)
	wait, err := serveHTTP(ctx, c.apiAddr, appHandler(server, app), logger)
	if err != nil {
		return err
	}
	go server.RunReconciler(ctx, reconcileEvery)
	go app.Run(ctx, janitorEvery)

	processes := "built-in (" + strings.Join(cat.Types(), ", ") + ")"
	if c.processesDir != "" {
		processes = c.processesDir + " (" + strings.Join(cat.Types(), ", ") + ")"
	}
	tokenNote := "in " + tokenPath
	if newToken {
		tokenNote = "created, admin, written to " + tokenPath
	}
	someone := "alice"
	if len(cat.Directory.People) > 0 {
		someone = cat.Directory.People[0].ID
	}
	signInNote := fmt.Sprintf("sign in with your id or e-mail of the directory (%s, say): the one-time link appears below", someone)
	if signIn != nil {
		signInNote += ", or with " + signIn.Issuer
	}
	fmt.Fprintf(e.stdout, `incidentflow dev is running
  Web app      %s/ — %s
  API          %s
  Temporal UI  %s
  Temporal     %s (namespace %s)
  Data         %s
  Processes    %s
  API token    %s
Declare an incident:
  curl -X POST %s/v1/incidents -H "Authorization: Bearer $(cat %s)" \
    -d '{"type":"engineering","title":"Checkout is down","severity":"critical"}'
Press Ctrl-C to stop; start again with the same --data to carry on.
`, apiURL, signInNote, apiURL, uiURL, c.temporalAddr, namespace, dataDir, processes, tokenNote, apiURL, tokenPath)

	go func() {
		if err := <-srv.UIErr(); err != nil {
			logger.Error("the Temporal UI stopped; the rest carries on", "error", err)
		}
	}()
	err = wait()
	fmt.Fprintln(e.stdout, "incidentflow dev stopped")
	return err
}
