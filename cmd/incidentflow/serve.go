package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/incidentflow/incidentflow/activities"
	"github.com/incidentflow/incidentflow/api"
	"github.com/incidentflow/incidentflow/channels"
	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/links"
	"github.com/incidentflow/incidentflow/store"
	"github.com/incidentflow/incidentflow/web"
	"github.com/incidentflow/incidentflow/worker"
)

// reconcileEvery is how often the API looks for incidents whose run never started.
const reconcileEvery = 15 * time.Second

// newRegistry is a Prometheus registry with the Go runtime's and the process's
// own collectors.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// startWorker builds the activities' dependencies and starts the worker.
func startWorker(cl client.Client, st *store.Store, cat *dsl.Catalog, signer *links.Signer, logger *slog.Logger, getenv func(string) string, console io.Writer, reg prometheus.Registerer, also ...func(sdkworker.Worker)) (sdkworker.Worker, error) {
	senders, problems := channels.Build(cat.Directory, channels.Config{Console: &linePrinter{w: console}, Getenv: getenv})
	for _, p := range problems {
		logger.Warn("channel unavailable: deliveries to it will fail", "error", p)
	}
	w := worker.New(cl, &activities.Activities{Store: st, Directory: cat.Directory, Channels: senders, Secrets: getenv,
		Deliveries: activities.NewDeliveriesCounter(reg), Durations: activities.NewDurations(reg), Links: signer})
	for _, register := range also {
		register(w)
	}
	if err := w.Start(); err != nil {
		return nil, fmt.Errorf("start worker: %w", err)
	}
	return w, nil
}

// serveHTTP listens on addr (failing at once if it cannot), serves h until ctx
// ends, then drains in-flight requests for up to ten seconds.
func serveHTTP(ctx context.Context, addr string, h http.Handler, logger *slog.Logger) (func() error, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute}
	done := make(chan error, 1)
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			done <- err
		}
		close(done)
	}()
	wait := func() error {
		select {
		case err := <-done:
			return err
		case <-ctx.Done():
		}
		// A person's change waits up to 30 s for its run: it is answered
		// (and its Idempotency-Key with it) before the api stops.
		shutdown, cancel := context.WithTimeout(context.Background(), 35*time.Second)
		defer cancel()
		if err := srv.Shutdown(shutdown); err != nil {
			logger.Warn("api did not drain in time", "error", err)
		}
		return nil
	}
	return wait, nil
}

// linePrinter writes console deliveries one whole line at a time.
type linePrinter struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *linePrinter) Println(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintln(p.w, line)
}

// apiConfig is the API's wiring common to dev and api.
func apiConfig(st *store.Store, cl client.Client, cat *dsl.Catalog, logger *slog.Logger, baseURL, uiURL, namespace string, reg *prometheus.Registry) api.Config {
	return api.Config{Store: st, Temporal: cl, Catalog: cat, Logger: logger, BaseURL: baseURL, UIURL: uiURL, Namespace: namespace, Metrics: reg}
}

// webConfig is the web app's wiring common to dev, api and bench.
func webConfig(server *api.Server, st *store.Store, signer *links.Signer, logger *slog.Logger, publicURL string) web.Config {
	return web.Config{App: server, Store: st, Links: signer, Logger: logger, PublicURL: publicURL}
}

// appHandler serves the API under /v1 (and its health and metrics) and the
// web app everywhere else, from one address.
func appHandler(server *api.Server, app *web.Server) http.Handler {
	mux := http.NewServeMux()
	for _, p := range []string{"/v1/", "/healthz", "/readyz", "/metrics"} {
		mux.Handle(p, server.Handler())
	}
	mux.Handle("/", app.Handler())
	return mux
}

// janitorEvery is how often the api drops expired sessions and sign-ins.
const janitorEvery = time.Hour

// signInSender delivers dev's sign-in links through each person's own
// channel of the directory, as any message to them goes.
type signInSender struct {
	dir     *dsl.Directory
	senders map[string]channels.Sender
}

func newSignInSender(dir *dsl.Directory, getenv func(string) string, console io.Writer) *signInSender {
	senders, _ := channels.Build(dir, channels.Config{Console: &linePrinter{w: console}, Getenv: getenv})
	return &signInSender{dir: dir, senders: senders}
}

// SendSignIn sends p the link.
func (s *signInSender) SendSignIn(ctx context.Context, p dsl.Person, link string) error {
	channel := s.dir.ChannelFor(p)
	sender, ok := s.senders[channel]
	if !ok {
		return fmt.Errorf("channel %s of %s cannot deliver", channel, p.ID)
	}
	return sender.Send(ctx, channels.Message{Event: "sign-in", Recipient: &channels.Recipient{ID: p.ID, Name: p.Name, Email: p.Email},
		Message: "Sign in to incidentflow (works once, for 15 minutes): " + link, IdempotencyKey: "sign-in/" + link, Channel: channel})
}
