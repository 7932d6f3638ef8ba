package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/metrics"
	_ "go.temporal.io/server/common/persistence/sql/sqlplugin/postgresql" // the postgres12 plugin
	"go.temporal.io/server/temporal"
)

// services are the roles every node runs: a node is a whole Temporal server.
var services = []string{"frontend", "history", "matching", "worker"}

// NodeSpec is everything a node process needs to join the cluster. The
// helper writes it as JSON; the node reads it.
type NodeSpec struct {
	Name      string `json:"name"`
	ClusterID string `json:"cluster_id"`
	// Host every service binds and broadcasts on (loopback).
	Host string `json:"host"`
	// Ports of each service: gRPC and ringpop membership.
	Ports map[string]ServicePorts `json:"ports"`
	// SeedFrontend is the frontend address recorded as the cluster's RPC address.
	SeedFrontend string `json:"seed_frontend"`
	// Persistence and visibility on PostgreSQL.
	Postgres PostgresSpec `json:"postgres"`
	Shards   int32        `json:"shards"`
	MaxConns int          `json:"max_conns"`
	LogLevel string       `json:"log_level"`
	// MetricsPort serves the node's Prometheus metrics on Host (0: none).
	MetricsPort int `json:"metrics_port,omitempty"`
	// ShardIOConcurrency is the history service's history.shardIOConcurrency:
	// how many persistence writes each shard makes at once (0: Temporal's 1).
	ShardIOConcurrency int `json:"shard_io_concurrency,omitempty"`
}

// ServicePorts are one service's listening ports.
type ServicePorts struct {
	GRPC       int `json:"grpc"`
	Membership int `json:"membership"`
}

// PostgresSpec says where the cluster's two databases are.
type PostgresSpec struct {
	Addr       string `json:"addr"`
	User       string `json:"user"`
	Password   string `json:"password"`
	Database   string `json:"database"`
	Visibility string `json:"visibility"`
}

// Metrics is where the node serves its Prometheus metrics, empty when it
// does not.
func (s NodeSpec) Metrics() string {
	if s.MetricsPort == 0 {
		return ""
	}
	return "http://" + net.JoinHostPort(s.Host, strconv.Itoa(s.MetricsPort)) + "/metrics"
}

// Frontend is the node's frontend gRPC address, the one SDK clients dial.
func (s NodeSpec) Frontend() string {
	return net.JoinHostPort(s.Host, strconv.Itoa(s.Ports["frontend"].GRPC))
}

// sql is the plugin configuration of one of the two databases.
func (p PostgresSpec) sql(database string, maxConns int) *config.SQL {
	return &config.SQL{
		PluginName:        "postgres12",
		DatabaseName:      database,
		ConnectAddr:       p.Addr,
		ConnectProtocol:   "tcp",
		User:              p.User,
		Password:          p.Password,
		ConnectAttributes: map[string]string{"sslmode": "disable"},
		MaxConns:          maxConns,
		MaxIdleConns:      maxConns,
		MaxConnLifetime:   time.Hour,
	}
}

// serverConfig is the node's Temporal configuration, in the shape of the
// server's own development-postgres12.yaml.
func (s NodeSpec) serverConfig() *config.Config {
	var c config.Config
	c.Global.Membership.MaxJoinDuration = 30 * time.Second
	c.Global.Membership.BroadcastAddress = s.Host
	c.Persistence.DefaultStore = "postgres-default"
	c.Persistence.VisibilityStore = "postgres-visibility"
	c.Persistence.NumHistoryShards = s.Shards
	c.Persistence.DataStores = map[string]config.DataStore{
		"postgres-default":    {SQL: s.Postgres.sql(s.Postgres.Database, s.MaxConns)},
		"postgres-visibility": {SQL: s.Postgres.sql(s.Postgres.Visibility, s.MaxConns)},
	}
	c.ClusterMetadata = &cluster.Config{
		FailoverVersionIncrement: 10,
		MasterClusterName:        "active",
		CurrentClusterName:       "active",
		ClusterInformation: map[string]cluster.ClusterInformation{
			"active": {Enabled: true, InitialFailoverVersion: 1, RPCAddress: s.SeedFrontend, ClusterID: s.ClusterID},
		},
	}
	c.DCRedirectionPolicy.Policy = "noop"
	c.Services = map[string]config.Service{}
	for _, name := range services {
		var svc config.Service
		svc.RPC.BindOnIP = s.Host
		svc.RPC.GRPCPort = s.Ports[name].GRPC
		svc.RPC.MembershipPort = s.Ports[name].Membership
		c.Services[name] = svc
	}
	c.Archival.History.State = "disabled"
	c.Archival.Visibility.State = "disabled"
	c.NamespaceDefaults.Archival.History.State = "disabled"
	c.NamespaceDefaults.Archival.Visibility.State = "disabled"
	if s.MetricsPort != 0 {
		c.Global.Metrics = &metrics.Config{Prometheus: &metrics.PrometheusConfig{Framework: metrics.FrameworkOpentelemetry,
			ListenAddress: net.JoinHostPort(s.Host, strconv.Itoa(s.MetricsPort))}}
	}
	// The system worker talks to this node's own frontend.
	c.PublicClient.HostPort = s.Frontend()
	return &c
}

// RunNode runs the node described by the JSON file at specPath until ctx
// ends, then stops it gracefully. It logs to stderr as JSON.
func RunNode(ctx context.Context, specPath string) error {
	raw, err := os.ReadFile(specPath)
	if err != nil {
		return fmt.Errorf("read node spec: %w", err)
	}
	var spec NodeSpec
	if err := json.Unmarshal(raw, &spec); err != nil {
		return fmt.Errorf("node spec %s: %w", specPath, err)
	}
	logger := log.NewZapLogger(log.BuildZapLogger(log.Config{Level: spec.LogLevel, Format: "json"}))
	// No static hosts: the nodes find each other through ringpop, seeded
	// from the cluster_membership table, as a production cluster does.
	dyn := dynamicconfig.StaticClient{}
	if spec.ShardIOConcurrency > 0 {
		dyn[dynamicconfig.ShardIOConcurrency.Key()] = spec.ShardIOConcurrency
	}
	srv, err := temporal.NewServer(
		temporal.WithConfig(spec.serverConfig()),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithLogger(logger),
		temporal.WithDynamicConfigClient(dyn),
	)
	if err != nil {
		return fmt.Errorf("build temporal server %s: %w", spec.Name, err)
	}
	if err := srv.Start(); err != nil {
		return fmt.Errorf("start temporal server %s: %w", spec.Name, err)
	}
	<-ctx.Done()
	srv.Stop()
	return nil
}
