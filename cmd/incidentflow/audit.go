package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os/user"
	"path/filepath"

	"github.com/incidentflow/incidentflow/store"
)

// audit exports the audit log as JSON lines, or verifies its hash chain
// from the first entry to the last.
func (e environment) audit(ctx context.Context, args []string) error {
	if len(args) == 0 || (args[0] != "export" && args[0] != "verify") {
		fmt.Fprintln(e.stderr, "Usage: incidentflow audit export    write every entry of the audit log as JSON lines\n"+
			"       incidentflow audit verify    check the log's hash chain, entry by entry")
		return exitCode(2)
	}
	var databaseURL string
	f := e.flags("audit "+args[0], "Reads the audit log in the database (DATABASE_URL, or the dev database in --data).")
	f.secret(&databaseURL, "database-url", "DATABASE_URL", "PostgreSQL URL, or sqlite:PATH")
	dataDir := f.fs.String("data", ".incidentflow", "the dev data directory, used when no database URL is given")
	if err := f.parse(args[1:]); err != nil {
		return err
	}
	if databaseURL == "" {
		databaseURL = "sqlite:" + filepath.Join(*dataDir, "incidentflow.db")
	}
	st, err := openChecked(ctx, databaseURL)
	if err != nil {
		return err
	}
	defer func() { _ = st.Close() }()
	enc := json.NewEncoder(e.stdout)
	after, prev, n := int64(0), "", 0
	for {
		page, err := st.Audit(ctx, after, 1000)
		if err != nil {
			return err
		}
		if args[0] == "verify" {
			if prev, err = store.VerifyAudit(page, after, prev); err != nil {
				fmt.Fprintf(e.stderr, "audit log: the chain is broken: %v\n", err)
				return exitCode(1)
			}
		} else {
			for _, entry := range page {
				if err := enc.Encode(entry); err != nil {
					return err
				}
			}
		}
		n += len(page)
		if len(page) < 1000 {
			break
		}
		after = page[len(page)-1].Seq
	}
	if args[0] == "verify" {
		fmt.Fprintf(e.stdout, "audit log: %d entries, the chain is intact", n)
		if n > 0 {
			fmt.Fprintf(e.stdout, " (last hash %s)", prev)
		}
		fmt.Fprintln(e.stdout)
	}
	return nil
}

// operator names who runs a command on this machine, for the audit log.
func operator() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "operator:" + u.Username
	}
	return "operator"
}
