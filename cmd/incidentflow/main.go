// Command incidentflow is the one binary: dev runs everything embedded; api,
// worker and migrate run the parts against PostgreSQL and an external Temporal;
// validate checks process files. Configuration is parsed here, once, and passed
// down as plain structs: no other package reads the environment.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	var exit exitCode
	switch {
	case errors.As(err, &exit):
		os.Exit(int(exit))
	case err != nil:
		fmt.Fprintln(os.Stderr, "incidentflow:", err)
		os.Exit(1)
	}
}

// exitCode ends the program with a status, its message already printed.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

const usage = `incidentflow — incident processes as code, run durably on Temporal.

Usage:
  incidentflow dev       run everything in one process: embedded Temporal and its UI, SQLite, worker, API
  incidentflow api       run the HTTP API against PostgreSQL and Temporal
  incidentflow worker    run the Temporal worker against PostgreSQL and Temporal
  incidentflow migrate   apply database migrations and register Temporal search attributes
  incidentflow validate [DIR]   check process files and the directory, reporting file:line:col: message
  incidentflow token create|list|revoke   manage API tokens of people and services (roles viewer, responder, declarer, admin)
  incidentflow audit export|verify       write the audit log as JSON lines, or check its hash chain
  incidentflow simulate PROCESS [flags]   run a process in simulated time and print its timeline
  incidentflow bench [--quick] [--scale]  measure declare latency, time to first page, the interpreter
                                          against hand-written Temporal code, and many open incidents

Run "incidentflow COMMAND -h" for a command's flags. Every flag has an
environment twin, shown in its help.
`

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitCode(2)
	}
	env := environment{getenv: getenv, stdout: stdout, stderr: stderr}
	switch args[0] {
	case "dev":
		return env.dev(ctx, args[1:])
	case "api":
		return env.api(ctx, args[1:])
	case "worker":
		return env.worker(ctx, args[1:])
	case "migrate":
		return env.migrate(ctx, args[1:])
	case "validate":
		return env.validate(args[1:])
	case "token":
		return env.token(ctx, args[1:])
	case "audit":
		return env.audit(ctx, args[1:])
	case "simulate":
		return env.simulate(args[1:])
	case "bench":
		return env.bench(ctx, args[1:])
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "incidentflow: unknown command %q\n\n%s", args[0], usage)
	return exitCode(2)
}

// environment is what a command may touch of the outside world.
type environment struct {
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer
}
