package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/links"
	"github.com/incidentflow/incidentflow/store"
)

// token manages API tokens: create prints a new token once, list shows them
// (never their secrets), revoke ends one. A token belongs to a principal — a
// person of the directory or a named service — and acts with a role.
func (e environment) token(ctx context.Context, args []string) error {
	if len(args) == 0 || !slices.Contains([]string{"create", "list", "revoke"}, args[0]) {
		fmt.Fprintln(e.stderr, "Usage: incidentflow token create --person ID --role viewer|responder|admin [--name NAME]\n"+
			"       incidentflow token create --service NAME --role declarer|viewer|responder|admin\n"+
			"       incidentflow token list\n       incidentflow token revoke ID|NAME")
		return exitCode(2)
	}
	var databaseURL, secret, name, person, service, role, processesDir string
	f := e.flags("token "+args[0], "Manages API tokens in the database (DATABASE_URL, or the dev database in --data).")
	f.secret(&databaseURL, "database-url", "DATABASE_URL", "PostgreSQL URL, or sqlite:PATH")
	f.secret(&secret, "link-secret", linkSecretEnv, "the api's and worker's secret, under which the audit log is chained (dev: its own)")
	dataDir := f.fs.String("data", ".incidentflow", "the dev data directory, used when no database URL is given")
	if args[0] == "create" {
		f.fs.StringVar(&person, "person", "", "the person of the directory the token acts as")
		f.fs.StringVar(&service, "service", "", "the name of the service the token acts as, like alertmanager")
		f.fs.StringVar(&role, "role", "", "viewer, responder, declarer (services that only declare and send alerts) or admin")
		f.fs.StringVar(&name, "name", "", "a name saying what uses the token (default: its principal and a suffix)")
		f.str(&processesDir, "processes", "INCIDENTFLOW_PROCESSES", "", "directory of process files and directory.yaml, to find --person in (default: the built-in processes)")
	}
	if err := f.parse(args[1:]); err != nil {
		return err
	}
	var p incidentflow.Principal
	if args[0] == "create" {
		switch {
		case (person == "") == (service == ""):
			f.problem("token create needs --person ID or --service NAME, one of them")
		case service != "" && !serviceName.MatchString(service):
			f.problem("--service %q must be lower-case letters, digits, - and _", service)
		case service != "":
			p = incidentflow.Principal{Kind: incidentflow.ServicePrincipal, ID: service, Role: role}
		default:
			p = incidentflow.Principal{Kind: incidentflow.PersonPrincipal, ID: person, Role: role}
		}
		switch {
		case !slices.Contains(incidentflow.AccessRoles, role):
			f.problem("--role %q must be one of %s", role, strings.Join(incidentflow.AccessRoles, ", "))
		case role == incidentflow.RoleDeclarer && person != "":
			f.problem("--role declarer is for services that only declare; a person declares as a responder")
		}
	}
	if args[0] == "revoke" && f.fs.NArg() != 1 {
		f.problem("token revoke needs the id or name of one token")
	}
	if err := f.check(); err != nil {
		return err
	}
	if p.IsPerson() {
		cat, err := e.catalog(processesDir)
		if err != nil {
			return err
		}
		found, ok := cat.Directory.Person(person)
		if !ok {
			return fmt.Errorf("%q is not a person of the directory%s", person, dsl.DidYouMean(person, cat.Directory.PersonIDs()))
		}
		if incidentflow.CapRole(role, found.AccessRole()) != role {
			fmt.Fprintf(e.stderr, "Note: %s's access in the directory is %s, so the token acts as a %s.\n", person, found.AccessRole(), found.AccessRole())
		}
	}
	st, err := adminStore(ctx, databaseURL, *dataDir, secret)
	if err != nil {
		return err
	}
	defer func() { _ = st.Close() }()
	switch args[0] {
	case "create":
		secret, t, err := st.CreateToken(ctx, name, p)
		if err != nil {
			return err
		}
		if err := record(ctx, st, "token create", t.ID, fmt.Sprintf("%s for %s as a %s", t.Name, p, t.Role)); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "Created token %s (%s) for %s as a %s. It is shown once; store it now:\n", t.ID, t.Name, p, t.Role)
		fmt.Fprintln(e.stdout, secret)
	case "list":
		tokens, err := st.Tokens(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tPRINCIPAL\tROLE\tCREATED\tREVOKED")
		for _, t := range tokens {
			revoked := "-"
			if t.RevokedAt != nil {
				revoked = t.RevokedAt.UTC().Format(time.RFC3339)
			}
			who := incidentflow.Principal{Kind: t.Kind, ID: t.Principal}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, who, t.Role, t.CreatedAt.UTC().Format(time.RFC3339), revoked)
		}
		return tw.Flush()
	case "revoke":
		t, err := st.RevokeToken(ctx, f.fs.Arg(0))
		if err != nil {
			return err
		}
		if err := record(ctx, st, "token revoke", t.ID, t.Name); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "revoked %s (%s)\n", t.ID, t.Name)
	}
	return nil
}

// serviceName is what a service principal may be called.
var serviceName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// devToken makes sure a dev data directory has an admin token: on first start
// it creates one and writes it to <data>/token, readable by its owner only.
func devToken(ctx context.Context, st *store.Store, dataDir string) (path string, created bool, err error) {
	path = filepath.Join(dataDir, "token")
	tokens, err := st.Tokens(ctx)
	if err != nil || len(tokens) > 0 {
		return path, false, err
	}
	secret, t, err := st.CreateToken(ctx, "dev-admin", incidentflow.Principal{Kind: incidentflow.ServicePrincipal, ID: "dev", Role: incidentflow.RoleAdmin})
	if err != nil {
		return path, false, err
	}
	if err := record(ctx, st, "token create", t.ID, "dev-admin for service:dev as an admin, by incidentflow dev"); err != nil {
		return path, false, err
	}
	return path, true, os.WriteFile(path, []byte(secret+"\n"), 0o600) // owner only
}

// devSecret is a dev data directory's secret, which signs its action links
// and chains its audit log: made on first use and kept in <data>/link-secret,
// readable by its owner only, so links and the log outlast restarts.
func devSecret(dataDir string) ([]byte, error) {
	path := filepath.Join(dataDir, "link-secret")
	secret, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		secret = []byte(hex.EncodeToString(b))
		err = os.WriteFile(path, secret, 0o600)
	}
	if err != nil {
		return nil, err
	}
	return bytes.TrimSpace(secret), nil
}

// adminStore opens the database an operator's command works on (token,
// audit): the one named, else the dev database in dataDir. Its audit log is
// chained under secret (INCIDENTFLOW_LINK_SECRET), or the dev data
// directory's own.
func adminStore(ctx context.Context, databaseURL, dataDir, secret string) (*store.Store, error) {
	if databaseURL == "" {
		databaseURL = "sqlite:" + filepath.Join(dataDir, "incidentflow.db")
		if secret == "" {
			b, err := devSecret(dataDir)
			if err != nil {
				return nil, fmt.Errorf("dev secret: %w", err)
			}
			secret = string(b)
		}
	}
	if len(secret) < links.MinSecret {
		return nil, fmt.Errorf("set %s (at least %d bytes, the api's and worker's): the audit log is chained under it", linkSecretEnv, links.MinSecret)
	}
	st, err := openChecked(ctx, databaseURL)
	if err != nil {
		return nil, err
	}
	st.SetAuditKey(store.AuditKey([]byte(secret)))
	return st, nil
}

// record writes what an operator did on the command line to the audit log.
func record(ctx context.Context, st *store.Store, action, target, detail string) error {
	_, err := st.AppendAudit(ctx, store.AuditEntry{At: time.Now(), Principal: operator(), Via: "cli", Action: action, Target: target,
		Outcome: "done", Detail: detail})
	return err
}
