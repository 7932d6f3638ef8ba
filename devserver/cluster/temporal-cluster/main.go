// Command temporal-cluster runs a two-node Temporal cluster on a throwaway
// PostgreSQL on loopback, for benchmarks and trying incidentflow against a
// real cluster; the cluster tests run its nodes too. It is not part of the
// product.
//
//	go run ./devserver/cluster/temporal-cluster --env cluster.env
//	. ./cluster.env; incidentflow bench --temporal-addr "$TEMPORAL_ADDRESS" --database-url "$DATABASE_URL"
//
// It prints the addresses and process IDs, writes them to --env, and runs
// until interrupted. `temporal-cluster node SPEC` runs one node (the cluster
// starts its nodes that way).
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	_ "github.com/lib/pq"

	"github.com/incidentflow/incidentflow/devserver/cluster"
	"github.com/incidentflow/incidentflow/store/storetest"
	"github.com/incidentflow/incidentflow/workflows"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if len(os.Args) == 3 && os.Args[1] == "node" {
		err = cluster.RunNode(ctx, os.Args[2])
	} else {
		err = run(ctx, os.Args[1:])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "temporal-cluster:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("temporal-cluster", flag.ContinueOnError)
	nodes := fs.Int("nodes", 2, "Temporal nodes, each running frontend, history, matching and worker")
	shards := fs.Int("shards", 8, "history shards")
	maxConns := fs.Int("max-conns", 10, "connections each service keeps to the persistence database")
	shardIO := fs.Int("shard-io-concurrency", 0, "persistence writes each history shard makes at once (0: Temporal's default, 1)")
	envPath := fs.String("env", "", "also write the addresses as KEY=VALUE lines to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *shardIO < 0 {
		return fmt.Errorf("--shard-io-concurrency is how many writes a shard makes at once: 1 or more, or 0 for Temporal's default; %d cannot be", *shardIO)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "temporal-cluster-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	pg, err := storetest.StartPostgres()
	if err != nil {
		return err
	}
	defer pg.Stop()
	db, err := sql.Open("postgres", pg.DatabaseURL("postgres"))
	if err != nil {
		return err
	}
	_, err = db.ExecContext(ctx, "CREATE DATABASE incidentflow")
	_ = db.Close()
	if err != nil {
		return fmt.Errorf("create the incidentflow database: %w", err)
	}
	c, err := cluster.Start(ctx, cluster.Options{Postgres: pg, Dir: dir, Nodes: *nodes, NodeBinary: self,
		SearchAttributes: workflows.SearchAttributeNames, Shards: int32(*shards), MaxConns: *maxConns, ShardIOConcurrency: *shardIO})
	if err != nil {
		return err
	}
	defer c.Stop()
	persistence, visibility := c.Databases()
	pgPID, err := pg.PID()
	if err != nil {
		return err
	}
	lines := []string{
		"TEMPORAL_ADDRESS=" + c.Address(),
		"TEMPORAL_NAMESPACE=" + c.Namespace(),
		"DATABASE_URL=" + pg.DatabaseURL("incidentflow"),
		"TEMPORAL_DATABASE_URL=" + pg.DatabaseURL(persistence),
		"TEMPORAL_VISIBILITY_DATABASE_URL=" + pg.DatabaseURL(visibility),
		fmt.Sprintf("POSTGRES_PID=%d", pgPID),
	}
	for i, n := range c.Nodes {
		lines = append(lines, fmt.Sprintf("TEMPORAL_NODE_%d_PID=%d", i+1, n.PID()), fmt.Sprintf("TEMPORAL_NODE_%d_FRONTEND=%s", i+1, n.Spec.Frontend()),
			fmt.Sprintf("TEMPORAL_NODE_%d_METRICS=%s", i+1, n.Spec.Metrics()))
	}
	text := strings.Join(lines, "\n") + "\n"
	if *envPath != "" {
		if err := os.WriteFile(*envPath, []byte(text), 0o600); err != nil {
			return err
		}
	}
	fmt.Print(text)
	fmt.Fprintln(os.Stderr, "temporal-cluster: running; interrupt to stop")
	<-ctx.Done()
	return nil
}
