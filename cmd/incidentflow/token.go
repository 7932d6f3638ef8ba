package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/store"
)

// scopeList collects --scope flags, repeated or comma-separated.
type scopeList []string

func (s *scopeList) String() string { return strings.Join(*s, ",") }

func (s *scopeList) Set(v string) error {
	for _, scope := range strings.Split(v, ",") {
		if !slices.Contains(incidentflow.Scopes, scope) {
			return fmt.Errorf("unknown scope %q: use %s", scope, strings.Join(incidentflow.Scopes, ", "))
		}
		*s = append(*s, scope)
	}
	return nil
}

// token manages API tokens: create prints a new token once, list shows them
// (never their secrets), revoke ends one.
func (e environment) token(ctx context.Context, args []string) error {
	if len(args) == 0 || !slices.Contains([]string{"create", "list", "revoke"}, args[0]) {
		fmt.Fprintln(e.stderr, "Usage: incidentflow token create --name NAME --scope declare|respond|admin\n       incidentflow token list\n       incidentflow token revoke ID|NAME")
		return exitCode(2)
	}
	var databaseURL, name string
	var scopes scopeList
	f := e.flags("token "+args[0], "Manages API tokens in the database (DATABASE_URL, or the dev database in --data).")
	f.secret(&databaseURL, "database-url", "DATABASE_URL", "PostgreSQL URL, or sqlite:PATH")
	dataDir := f.fs.String("data", ".incidentflow", "the dev data directory, used when no database URL is given")
	if args[0] == "create" {
		f.fs.StringVar(&name, "name", "", "a name saying who uses the token, like oncall-bot (required)")
		f.fs.Var(&scopes, "scope", "declare, respond or admin; repeat or comma-separate for several (required)")
	}
	if err := f.parse(args[1:]); err != nil {
		return err
	}
	if databaseURL == "" {
		databaseURL = "sqlite:" + filepath.Join(*dataDir, "incidentflow.db")
	}
	if args[0] == "create" && (name == "" || len(scopes) == 0) {
		f.problem("token create needs --name and at least one --scope")
	}
	if args[0] == "revoke" && f.fs.NArg() != 1 {
		f.problem("token revoke needs the id or name of one token")
	}
	if err := f.check(); err != nil {
		return err
	}
	st, err := openChecked(ctx, databaseURL)
	if err != nil {
		return err
	}
	defer func() { _ = st.Close() }()
	switch args[0] {
	case "create":
		secret, t, err := st.CreateToken(ctx, name, scopes)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "Created token %s (%s) with scopes %s. It is shown once; store it now:\n", t.ID, t.Name, strings.Join(t.Scopes, ", "))
		fmt.Fprintln(e.stdout, secret)
	case "list":
		tokens, err := st.Tokens(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tSCOPES\tCREATED\tREVOKED")
		for _, t := range tokens {
			revoked := "-"
			if t.RevokedAt != nil {
				revoked = t.RevokedAt.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, strings.Join(t.Scopes, ","), t.CreatedAt.UTC().Format(time.RFC3339), revoked)
		}
		return tw.Flush()
	case "revoke":
		t, err := st.RevokeToken(ctx, f.fs.Arg(0))
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "revoked %s (%s)\n", t.ID, t.Name)
	}
	return nil
}

var _ flag.Value = (*scopeList)(nil)

// devToken makes sure a dev data directory has an admin token: on first start
// it creates one and writes it to <data>/token, readable by its owner only.
func devToken(ctx context.Context, st *store.Store, dataDir string) (path string, created bool, err error) {
	path = filepath.Join(dataDir, "token")
	tokens, err := st.Tokens(ctx)
	if err != nil || len(tokens) > 0 {
		return path, false, err
	}
	secret, _, err := st.CreateToken(ctx, "dev-admin", []string{incidentflow.ScopeAdmin})
	if err != nil {
		return path, false, err
	}
	return path, true, os.WriteFile(path, []byte(secret+"\n"), 0o600) // owner only
}
