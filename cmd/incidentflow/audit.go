package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os/user"
	"strconv"
	"strings"

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
	var databaseURL, secret, previous, head string
	f := e.flags("audit "+args[0], "Reads the audit log in the database (DATABASE_URL, or the dev database in --data).")
	f.secret(&databaseURL, "database-url", "DATABASE_URL", "PostgreSQL URL, or sqlite:PATH")
	f.secret(&secret, "link-secret", linkSecretEnv, "the api's and worker's secret, under which the audit log is chained (dev: its own)")
	f.secret(&previous, "link-secret-previous", previousLinkSecretEnv, "the secret before the last rotation, under which the entries before it are chained")
	dataDir := f.fs.String("data", ".incidentflow", "the dev data directory, used when no database URL is given")
	if args[0] == "verify" {
		f.fs.StringVar(&head, "head", "", "SEQ:HASH that an earlier verify printed: fail unless that entry is still there, unchanged (so nothing was cut after it)")
	}
	if err := f.parse(args[1:]); err != nil {
		return err
	}
	wantSeq, wantHash, _ := strings.Cut(head, ":")
	seq, serr := strconv.ParseInt(wantSeq, 10, 64)
	if head != "" && (serr != nil || seq < 1 || len(wantHash) != 64) {
		f.problem("--head %q must be SEQ:HASH, as audit verify prints it", head)
	}
	if err := f.check(); err != nil {
		return err
	}
	st, err := adminStore(ctx, databaseURL, *dataDir, secret)
	if err != nil {
		return err
	}
	defer func() { _ = st.Close() }()
	key := store.AuditKey([]byte(secret))
	if secret == "" && databaseURL == "" {
		b, err := devSecret(*dataDir)
		if err != nil {
			return err
		}
		key = store.AuditKey(b)
	}
	keys := &store.AuditKeys{Current: key}
	if previous != "" {
		keys.Previous = store.AuditKey([]byte(previous))
	}
	enc := json.NewEncoder(e.stdout)
	after, last, prev, n, headSeen := int64(0), int64(0), "", 0, false
	for {
		page, err := st.Audit(ctx, after, 1000)
		if err != nil {
			return err
		}
		if args[0] == "verify" {
			if prev, err = keys.Verify(page, after, prev); err != nil {
				fmt.Fprintf(e.stderr, "audit log: the chain is broken: %v\n", err)
				return exitCode(1)
			}
			for _, entry := range page {
				headSeen = headSeen || entry.Seq == seq && entry.Hash == wantHash
				last = entry.Seq
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
		if head != "" && !headSeen {
			fmt.Fprintf(e.stderr, "audit log: entry %d is not the one verified before (%.12s…): the log was cut or rewritten after it\n", seq, wantHash)
			return exitCode(1)
		}
		fmt.Fprintf(e.stdout, "audit log: %d entries, the chain is intact", n)
		if n > 0 {
			fmt.Fprintf(e.stdout, "; head %d:%s (keep it elsewhere and pass it as --head next time)", last, prev)
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
