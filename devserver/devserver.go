// Package devserver runs an embedded Temporal server (SQLite persistence) and the
// Temporal Web UI inside the incidentflow process, for `incidentflow dev` and tests.
// It and devserver/cluster (a real multi-node cluster, for tests and benchmarks) are the
// only packages that import go.temporal.io/server; nothing else may import it except cmd/
// and tests, so the rest of the tree builds without the server (imports_test.go checks).
package devserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uioptions "github.com/temporalio/ui-server/v2/server/server_options"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Options configure an embedded server. Zero values take the documented defaults.
type Options struct {
	// DataDir holds temporal.db and cluster-id. Empty means an in-memory store
	// that is lost on Stop (tests only).
	DataDir string
	// FrontendAddr is the gRPC address SDK clients dial, host:port on loopback.
	FrontendAddr string
	// UIAddr is where the Temporal Web UI listens; empty means no UI.
	UIAddr string
	// Namespace is created if missing (default "default").
	Namespace string
	// SearchAttributes are registered on the namespace when it is created.
	SearchAttributes map[string]enumspb.IndexedValueType
	// Retention of closed workflows (default 90 days): closed incidents must
	// stay visible in the UI long after the post-incident review.
	Retention time.Duration
	// Logger receives the server's log at LogLevel or above (default warn).
	Logger   *slog.Logger
	LogLevel slog.Level
}

// Server is a running embedded Temporal server and, if asked for, its Web UI.
type Server struct {
	server temporal.Server
	ui     *uiserver.Server
	uiDone chan error
	opts   Options
	// logLevel is raised on Stop: a stopping server's connection warnings are noise.
	logLevel *slog.LevelVar
}

const clusterName = "active"

// Start creates the SQLite store and namespace when they do not exist yet, then
// starts the server and waits until its frontend accepts connections.
func Start(ctx context.Context, o Options) (*Server, error) {
	if o.Namespace == "" {
		o.Namespace = "default"
	}
	if o.Retention == 0 {
		o.Retention = 90 * 24 * time.Hour
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.LogLevel == 0 {
		o.LogLevel = slog.LevelWarn
	}
	host, port, err := splitHostPort(o.FrontendAddr)
	if err != nil {
		return nil, fmt.Errorf("temporal address: %w", err)
	}
	// Temporal panics on an address it cannot bind; say which one instead.
	for what, addr := range map[string]string{"the Temporal server's address": o.FrontendAddr, "the Temporal UI's address": o.UIAddr} {
		if addr == "" {
			continue
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("%s %s is in use by another program (another incidentflow dev, or a Temporal server?): %w", what, addr, err)
		}
		_ = l.Close()
	}

	clusterID := uuid.NewString()
	if o.DataDir != "" {
		if err := os.MkdirAll(o.DataDir, 0o750); err != nil {
			return nil, fmt.Errorf("create data directory: %w", err)
		}
		if clusterID, err = persistentClusterID(filepath.Join(o.DataDir, "cluster-id")); err != nil {
			return nil, err
		}
	}

	sqlConf, err := o.prepareStore()
	if err != nil {
		return nil, err
	}
	// The server's own ports (frontend HTTP, history, matching, worker) are
	// asked of the kernel and bound later: another process can take one in
	// between. Then it is built again on other ports.
	var srv temporal.Server
	var level *slog.LevelVar
	for attempt := 1; ; attempt++ {
		srv, level, err = newServer(o, host, port, clusterID, sqlConf)
		if err == nil || attempt == portAttempts || !strings.Contains(err.Error(), "address already in use") ||
			strings.Contains(err.Error(), o.FrontendAddr) {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	s := &Server{server: srv, opts: o, logLevel: level}
	if err := waitForPort(ctx, o.FrontendAddr); err != nil {
		srv.Stop()
		return nil, err
	}
	if o.UIAddr != "" {
		if err := s.startUI(); err != nil {
			srv.Stop()
			return nil, err
		}
	}
	return s, nil
}

// Stop shuts the UI and the server down; it is safe to call once.
func (s *Server) Stop() {
	s.logLevel.Set(slog.LevelError)
	if s.ui != nil {
		s.ui.Stop()
	}
	s.server.Stop()
}

// UIErr reports a UI server that stopped on its own (nil channel without a UI).
func (s *Server) UIErr() <-chan error { return s.uiDone }

func (s *Server) startUI() error {
	host, port, err := splitHostPort(s.opts.UIAddr)
	if err != nil {
		return fmt.Errorf("ui address: %w", err)
	}
	// Bind first so a taken port is a start-up error, not a log line later.
	l, err := net.Listen("tcp", s.opts.UIAddr)
	if err != nil {
		return fmt.Errorf("temporal ui: %w", err)
	}
	_ = l.Close()
	s.ui = uiserver.NewServer(uioptions.WithConfigProvider(&uiconfig.Config{
		Host:                host,
		Port:                port,
		TemporalGRPCAddress: s.opts.FrontendAddr,
		EnableUI:            true,
		DefaultNamespace:    s.opts.Namespace,
		CORS:                uiconfig.CORS{CookieInsecure: true},
		HideLogs:            true,
		DisableNewsFetch:    true, // there may be no internet; the UI must not wait for it
	}))
	s.uiDone = make(chan error, 1)
	go func() {
		err := s.ui.Start()
		if err != nil && !errors.Is(err, context.Canceled) && !strings.Contains(err.Error(), "Server closed") {
			s.uiDone <- err
		}
		close(s.uiDone)
	}()
	return waitForPort(context.Background(), s.opts.UIAddr)
}

// prepareStore returns the SQLite configuration, creating the schema and the
// namespace with its search attributes when they are missing.
func (o Options) prepareStore() (*config.SQL, error) {
	conf := &config.SQL{
		PluginName: sqliteplugin.PluginName,
		// SQLite allows one writer: more connections only produce SQLITE_BUSY.
		MaxConns:     1,
		MaxIdleConns: 1,
	}
	if o.DataDir == "" {
		conf.DatabaseName = uuid.NewString()
		conf.ConnectAttributes = map[string]string{"mode": "memory", "cache": "shared"}
	} else {
		conf.DatabaseName = filepath.Join(o.DataDir, "temporal.db")
		// WAL with synchronous=NORMAL survives a process crash (not a power cut)
		// and doubles workflow throughput against FULL.
		conf.ConnectAttributes = map[string]string{"mode": "rwc", "journal_mode": "wal", "synchronous": "normal", "busy_timeout": "10000"}
	}
	// In memory the plugin creates the schema itself; a file store needs it once.
	if o.DataDir != "" && !fileExists(conf.DatabaseName) {
		if err := sqliteschema.SetupSchema(conf); err != nil {
			return nil, fmt.Errorf("create temporal schema: %w", err)
		}
	}
	ns, err := sqliteschema.NewNamespaceConfig(clusterName, o.Namespace, false, o.SearchAttributes)
	if err != nil {
		return nil, fmt.Errorf("namespace %s: %w", o.Namespace, err)
	}
	ns.Detail.Config.Retention = durationpb.New(o.Retention)
	if err := sqliteschema.CreateNamespaces(conf, ns); err != nil {
		return nil, fmt.Errorf("create namespace %s: %w", o.Namespace, err)
	}
	return conf, nil
}

// portAttempts is how often the server is built on fresh ports of its own.
const portAttempts = 3

// newServer builds and starts the server, its own ports found free.
func newServer(o Options, host string, port int, clusterID string, sqlConf *config.SQL) (temporal.Server, *slog.LevelVar, error) {
	conf, err := buildConfig(host, port, clusterID, sqlConf)
	if err != nil {
		return nil, nil, err
	}
	level := new(slog.LevelVar)
	level.Set(o.LogLevel)
	logger := newServerLogger(o.Logger, level)
	authorizer, err := authorization.GetAuthorizerFromConfig(&conf.Global.Authorization)
	if err != nil {
		return nil, nil, fmt.Errorf("temporal authorizer: %w", err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&conf.Global.Authorization, logger)
	if err != nil {
		return nil, nil, fmt.Errorf("temporal claim mapper: %w", err)
	}
	hosts := map[primitives.ServiceName]static.Hosts{}
	for name, svc := range conf.Services {
		hosts[primitives.ServiceName(name)] = static.SingleLocalHost(net.JoinHostPort(host, strconv.Itoa(svc.RPC.GRPCPort)))
	}
	dyn := dynamicconfig.StaticClient{
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key():                 8192,
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 200,
		// Search attributes are read on every list query; the store is local, so
		// a stale cache only hides freshly registered attributes.
		dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(): true,
	}
	srv, err := temporal.NewServer(
		temporal.WithConfig(conf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(hosts),
		temporal.WithLogger(logger),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithDynamicConfigClient(dyn),
	)
	if err != nil {
		return nil, nil, fmt.Errorf("build temporal server: %w", err)
	}
	if err := srv.Start(); err != nil {
		srv.Stop()
		return nil, nil, fmt.Errorf("start temporal server: %w", err)
	}
	return srv, level, nil
}

func buildConfig(host string, port int, clusterID string, sqlConf *config.SQL) (*config.Config, error) {
	frontendHTTP, err := FreePort(host)
	if err != nil {
		return nil, err
	}
	var conf config.Config
	conf.Global.Membership.MaxJoinDuration = 30 * time.Second
	conf.Global.Membership.BroadcastAddress = host
	conf.Persistence.DefaultStore = "sqlite"
	conf.Persistence.VisibilityStore = "sqlite"
	conf.Persistence.NumHistoryShards = 1
	conf.Persistence.DataStores = map[string]config.DataStore{"sqlite": {SQL: sqlConf}}
	conf.ClusterMetadata = &cluster.Config{
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{
			clusterName: {
				Enabled:                true,
				InitialFailoverVersion: 1,
				RPCAddress:             net.JoinHostPort(host, strconv.Itoa(port)),
				HTTPAddress:            net.JoinHostPort(host, strconv.Itoa(frontendHTTP)),
				ClusterID:              clusterID,
			},
		},
	}
	conf.DCRedirectionPolicy.Policy = "noop"
	conf.Services = map[string]config.Service{}
	for _, name := range []string{"frontend", "history", "matching", "worker"} {
		var svc config.Service
		svc.RPC.BindOnIP = host
		if name == "frontend" {
			svc.RPC.GRPCPort = port
			svc.RPC.HTTPPort = frontendHTTP
		} else if svc.RPC.GRPCPort, err = FreePort(host); err != nil {
			return nil, err
		}
		conf.Services[name] = svc
	}
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	conf.PublicClient.HostPort = net.JoinHostPort(host, strconv.Itoa(port))
	return &conf, nil
}

// persistentClusterID reads the cluster ID kept beside the database, creating it
// on first start: the store refuses a cluster whose ID changed.
func persistentClusterID(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		id := strings.TrimSpace(string(b))
		if _, perr := uuid.Parse(id); perr != nil {
			return "", fmt.Errorf("%s does not hold a UUID: %w", path, perr)
		}
		return id, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read cluster id: %w", err)
	}
	id := uuid.NewString()
	if err := os.WriteFile(path, []byte(id+"\n"), 0o640); err != nil {
		return "", fmt.Errorf("write cluster id: %w", err)
	}
	return id, nil
}

// FreePort asks the kernel for a free TCP port on host.
func FreePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("find a free port on %s: %w", host, err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port <= 0 || port > 65535 {
		return "", 0, fmt.Errorf("%q: port must be a number from 1 to 65535", addr)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return host, port, nil
}

func waitForPort(ctx context.Context, addr string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return c.Close()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not accept connections within 30s: %w", addr, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
