// Package cluster runs a real multi-node Temporal cluster on PostgreSQL on
// loopback, for tests and benchmarks only: Temporal's own PostgreSQL schemas
// for persistence and visibility, each node a child process running the
// frontend, history, matching and worker services, the nodes joined by
// ringpop, and one front-door address that spreads connections over the live
// frontends as a Kubernetes Service would. A node can be killed and started
// again. Only tests and devserver/ may import it: the product never links it.
package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/server/api/adminservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/incidentflow/incidentflow/store/storetest"
)

// Options configure a cluster. Zero values take the documented defaults.
type Options struct {
	// Postgres holds the cluster's two databases (required). They are created
	// with fresh names, so clusters may share a server.
	Postgres *storetest.Postgres
	// Dir holds node specs and logs (required); the caller removes it.
	Dir string
	// Nodes is how many nodes to run (default 2).
	Nodes int
	// NodeBinary runs a node as `NodeBinary node SPEC`; empty builds
	// devserver/cluster/temporal-cluster into Dir with the go command.
	NodeBinary string
	// Namespace is registered when the cluster first starts (default "default").
	Namespace string
	// SearchAttributes are registered on the namespace as Keyword attributes;
	// none leaves that to the caller (incidentflow migrate does it).
	SearchAttributes []string
	// Shards is the number of history shards (default 8).
	Shards int32
	// MaxConns per service to each of the two databases (default 10). Fewer
	// to visibility, as Temporal's sample configuration has (2), and a burst
	// of declarations times its writes out by the thousand.
	MaxConns int
	// LogLevel of the nodes' logs (default warn).
	LogLevel string
	// ShardIOConcurrency is how many persistence writes each history shard
	// makes at once (0: Temporal's default, 1).
	ShardIOConcurrency int
}

// Cluster is a running Temporal cluster.
type Cluster struct {
	// Nodes are the cluster's servers, in start order.
	Nodes     []*Node
	namespace string
	front     *frontDoor
	postgres  PostgresSpec
}

// Node is one Temporal server process of the cluster.
type Node struct {
	// Spec is how the node was configured.
	Spec     NodeSpec
	binary   string
	specPath string
	logPath  string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

var dbCounter atomic.Int64

// Start creates the databases, applies the schemas, starts the nodes, waits
// until every node sees every other in each service's ring, and registers the
// namespace (and the search attributes, when asked). On error, whatever
// started is stopped.
func Start(ctx context.Context, o Options) (*Cluster, error) {
	if o.Postgres == nil || o.Dir == "" {
		return nil, errors.New("cluster: Options.Postgres and Options.Dir are required")
	}
	if o.Nodes == 0 {
		o.Nodes = 2
	}
	if o.Namespace == "" {
		o.Namespace = "default"
	}
	if o.Shards == 0 {
		o.Shards = 8
	}
	if o.MaxConns == 0 {
		o.MaxConns = 10
	}
	if o.LogLevel == "" {
		o.LogLevel = "warn"
	}
	pg, maintenance, err := postgresSpec(o.Postgres)
	if err != nil {
		return nil, err
	}
	if err := createSchemas(pg, maintenance); err != nil {
		return nil, err
	}
	binary := o.NodeBinary
	if binary == "" {
		if binary, err = buildNode(ctx, o.Dir); err != nil {
			return nil, err
		}
	}
	specs, err := nodeSpecs(o, pg)
	if err != nil {
		return nil, err
	}
	c := &Cluster{namespace: o.Namespace, postgres: pg}
	for i := range specs {
		n := &Node{binary: binary, specPath: filepath.Join(o.Dir, specs[i].Name+".json"), logPath: filepath.Join(o.Dir, specs[i].Name+".log")}
		c.Nodes = append(c.Nodes, n)
		// One at a time, as a rolling deployment brings nodes up: each joins
		// the ring the ones before it formed. A port found free may be taken
		// by another process before the node binds it: the node is started
		// again on other ports.
		for attempt := 0; ; attempt++ {
			n.Spec = specs[i]
			err := n.launch()
			if err == nil {
				err = c.WaitJoined(ctx)
			}
			if err == nil {
				break
			}
			if attempt >= 2 || !strings.Contains(n.LogTail(50), "address already in use") {
				c.Stop()
				return nil, err
			}
			n.Kill()
			if specs[i], err = respec(specs[i], i == 0); err != nil {
				c.Stop()
				return nil, err
			}
			for j := i + 1; i == 0 && j < len(specs); j++ {
				specs[j].SeedFrontend = specs[0].Frontend()
			}
		}
	}
	if c.front, err = newFrontDoor(c.Nodes); err != nil {
		c.Stop()
		return nil, err
	}
	if err := c.register(ctx, o.SearchAttributes); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// Address is the cluster's front door: SDK clients dial it as they would a
// load-balanced frontend service, and reach any live node.
func (c *Cluster) Address() string { return c.front.addr() }

// Namespace is the registered namespace.
func (c *Cluster) Namespace() string { return c.namespace }

// Databases names the persistence and visibility databases.
func (c *Cluster) Databases() (persistence, visibility string) {
	return c.postgres.Database, c.postgres.Visibility
}

// Stop stops every node gracefully and closes the front door.
func (c *Cluster) Stop() {
	var wg sync.WaitGroup
	for _, n := range c.Nodes {
		wg.Add(1)
		go func() { defer wg.Done(); n.Stop() }()
	}
	wg.Wait()
	if c.front != nil {
		c.front.close()
	}
}

// WaitJoined waits until every running node sees every running node in the
// rings of all four services, and answers health checks as serving.
func (c *Cluster) WaitJoined(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var live []*Node
	for _, n := range c.Nodes {
		if n.Running() {
			live = append(live, n)
		}
	}
	for _, n := range live {
		if err := n.waitRings(ctx, len(live)); err != nil {
			var logs []string
			for _, m := range c.Nodes {
				logs = append(logs, m.LogTail(10))
			}
			return fmt.Errorf("%s did not join the cluster: %w\n%s", n.Spec.Name, err, strings.Join(logs, "\n"))
		}
	}
	return nil
}

// register creates the namespace and search attributes, then waits until
// every node knows them.
func (c *Cluster) register(ctx context.Context, attrs []string) error {
	seed := c.Nodes[0].Spec.Frontend()
	ns, err := client.NewNamespaceClient(client.Options{HostPort: seed, Logger: quietLogger()})
	if err != nil {
		return fmt.Errorf("namespace client: %w", err)
	}
	defer ns.Close()
	err = ns.Register(ctx, &workflowservice.RegisterNamespaceRequest{Namespace: c.namespace,
		WorkflowExecutionRetentionPeriod: durationpb.New(3 * 24 * time.Hour)})
	var exists *serviceerror.NamespaceAlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("register namespace %s: %w", c.namespace, err)
	}
	for _, n := range c.Nodes {
		cl, err := n.Client(ctx, c.namespace)
		if err != nil {
			return err
		}
		err = waitFor(ctx, time.Minute, func(ctx context.Context) error {
			_, err := cl.DescribeWorkflowExecution(ctx, "cluster-probe", "")
			var notFound *serviceerror.NotFound
			if errors.As(err, &notFound) {
				return nil
			}
			return fmt.Errorf("namespace %s not served by %s yet: %v", c.namespace, n.Spec.Name, err)
		})
		if err == nil && len(attrs) > 0 {
			err = addSearchAttributes(ctx, cl, c.namespace, attrs)
		}
		cl.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// addSearchAttributes adds the Keyword attributes the namespace lacks through
// this client's node, and waits until that node lists them all.
func addSearchAttributes(ctx context.Context, cl client.Client, namespace string, attrs []string) error {
	return waitFor(ctx, time.Minute, func(ctx context.Context) error {
		have, err := cl.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
		if err != nil {
			return err
		}
		missing := map[string]enumspb.IndexedValueType{}
		for _, a := range attrs {
			if _, ok := have.GetCustomAttributes()[a]; !ok {
				missing[a] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
			}
		}
		if len(missing) == 0 {
			return nil
		}
		_, err = cl.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: namespace, SearchAttributes: missing})
		var exists *serviceerror.AlreadyExists
		if err == nil || errors.As(err, &exists) {
			err = errors.New("search attributes added; waiting until they are listed")
		}
		return err
	})
}

// Client dials this node's own frontend (not the front door).
func (n *Node) Client(ctx context.Context, namespace string) (client.Client, error) {
	cl, err := client.DialContext(ctx, client.Options{HostPort: n.Spec.Frontend(), Namespace: namespace, Logger: quietLogger()})
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", n.Spec.Name, err)
	}
	return cl, nil
}

// launch writes the node's spec and starts its process.
func (n *Node) launch() error {
	raw, _ := json.MarshalIndent(n.Spec, "", "  ")
	if err := os.WriteFile(n.specPath, raw, 0o600); err != nil {
		return err
	}
	return n.start()
}

// start launches the node's process; it does not wait for it to serve.
func (n *Node) start() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd != nil {
		return fmt.Errorf("%s is already running", n.Spec.Name)
	}
	logFile, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(n.binary, "node", n.specPath)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return fmt.Errorf("start %s: %w", n.Spec.Name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); _ = logFile.Close(); close(done) }()
	n.cmd, n.done = cmd, done
	return nil
}

// Restart starts a stopped or killed node again on the same ports and waits
// until the cluster has it back in every ring.
func (n *Node) Restart(ctx context.Context, c *Cluster) error {
	if err := n.start(); err != nil {
		return err
	}
	return c.WaitJoined(ctx)
}

// Kill ends the node with SIGKILL, as a crashed machine would, and waits
// until the process is gone.
func (n *Node) Kill() { n.signal(syscall.SIGKILL) }

// Stop ends the node with SIGTERM and waits for its graceful shutdown (a
// minute at most, then SIGKILL).
func (n *Node) Stop() { n.signal(syscall.SIGTERM) }

func (n *Node) signal(sig syscall.Signal) {
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.cmd = nil
	n.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		<-done
	}
}

// Running says whether the node's process is up.
func (n *Node) Running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil {
		return false
	}
	select {
	case <-n.done:
		return false
	default:
		return true
	}
}

// PID is the node's process ID, 0 when it is not running.
func (n *Node) PID() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil {
		return 0
	}
	return n.cmd.Process.Pid
}

// LogTail is the last lines of the node's log, for failure messages.
func (n *Node) LogTail(lines int) string {
	raw, _ := os.ReadFile(n.logPath)
	all := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return n.Spec.Name + " log:\n" + strings.Join(all, "\n")
}

// waitRings waits until the node's frontend serves and its view of the
// membership has want hosts in each service's ring.
func (n *Node) waitRings(ctx context.Context, want int) error {
	conn, err := grpc.NewClient(n.Spec.Frontend(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	health, admin := healthpb.NewHealthClient(conn), adminservice.NewAdminServiceClient(conn)
	return waitFor(ctx, 2*time.Minute, func(ctx context.Context) error {
		if !n.Running() {
			return errors.New("the process exited")
		}
		h, err := health.Check(ctx, &healthpb.HealthCheckRequest{Service: workflowservice.WorkflowService_ServiceDesc.ServiceName})
		if err != nil {
			return err
		}
		if h.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			return fmt.Errorf("frontend is %s", h.GetStatus())
		}
		d, err := admin.DescribeCluster(ctx, &adminservice.DescribeClusterRequest{})
		if err != nil {
			return err
		}
		seen := map[string]int32{}
		for _, r := range d.GetMembershipInfo().GetRings() {
			seen[r.GetRole()] = r.GetMemberCount()
		}
		for _, s := range services {
			if seen[s] != int32(want) {
				return fmt.Errorf("its %s ring has %d of %d hosts", s, seen[s], want)
			}
		}
		return nil
	})
}

// nodeSpecs gives each node its name and free loopback ports.
func nodeSpecs(o Options, pg PostgresSpec) ([]NodeSpec, error) {
	clusterID := uuid.NewString()
	var specs []NodeSpec
	for i := range o.Nodes {
		s, err := respec(NodeSpec{Name: fmt.Sprintf("temporal-%d", i+1), ClusterID: clusterID, Host: "127.0.0.1",
			Postgres: pg, Shards: o.Shards, MaxConns: o.MaxConns, LogLevel: o.LogLevel, ShardIOConcurrency: o.ShardIOConcurrency}, false)
		if err != nil {
			return nil, err
		}
		specs = append(specs, s)
	}
	for i := range specs {
		specs[i].SeedFrontend = specs[0].Frontend()
	}
	return specs, nil
}

// respec gives a node spec new free ports; a seed is its own seed.
func respec(s NodeSpec, seed bool) (NodeSpec, error) {
	s.Ports = map[string]ServicePorts{}
	for _, name := range services {
		grpcPort, err := lowPort(s.Host)
		if err != nil {
			return s, err
		}
		memberPort, err := lowPort(s.Host)
		if err != nil {
			return s, err
		}
		s.Ports[name] = ServicePorts{GRPC: grpcPort, Membership: memberPort}
	}
	var err error
	if s.MetricsPort, err = lowPort(s.Host); err != nil {
		return s, err
	}
	if seed {
		s.SeedFrontend = s.Frontend()
	}
	return s, nil
}

// lowPort finds a free port below 32768: the cluster_membership table keeps
// ports as SMALLINT, so the kernel's ephemeral ports (32768 and up) make a
// node fail its first membership heartbeat.
func lowPort(host string) (int, error) {
	for range 100 {
		port := 20000 + rand.IntN(12000)
		l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err == nil {
			_ = l.Close()
			return port, nil
		}
	}
	return 0, fmt.Errorf("no free port below 32768 on %s", host)
}

// postgresSpec names two fresh databases on the server and returns the name
// of its maintenance database, to connect to while creating them.
func postgresSpec(p *storetest.Postgres) (PostgresSpec, string, error) {
	u, err := url.Parse(p.DatabaseURL("postgres"))
	if err != nil {
		return PostgresSpec{}, "", err
	}
	n := dbCounter.Add(1)
	password, _ := u.User.Password()
	return PostgresSpec{Addr: u.Host, User: u.User.Username(), Password: password,
		Database:   fmt.Sprintf("temporal_%d_%d", os.Getpid(), n),
		Visibility: fmt.Sprintf("temporal_visibility_%d_%d", os.Getpid(), n)}, "postgres", nil
}

// buildNode builds the node command into dir with the go command.
func buildNode(ctx context.Context, dir string) (string, error) {
	_, self, _, _ := runtime.Caller(0)
	out := filepath.Join(dir, "temporal-cluster")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./temporal-cluster")
	cmd.Dir = filepath.Dir(self)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build the Temporal node: %w\n%s", err, msg)
	}
	return out, nil
}

// waitFor retries fn every 200ms until it succeeds, ctx ends or limit passes,
// and returns its last error.
func waitFor(ctx context.Context, limit time.Duration, fn func(ctx context.Context) error) error {
	deadline := time.Now().Add(limit)
	for {
		call, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := fn(call)
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func quietLogger() sdklog.Logger { return sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)) }
