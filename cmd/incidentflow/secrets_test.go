package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// No secret is ever printed: a password given through every variable and
// flag that takes one shows in no usage, error or log line of any command,
// whether the command runs, is mistyped, or cannot reach what it names.
func TestSecretsAreNeverPrinted(t *testing.T) {
	const password = "hunter2-Secret"
	url := "postgres://app:" + password + "@127.0.0.1:1/incidents?sslmode=disable"
	env := map[string]string{
		"DATABASE_URL":                             url,
		"INCIDENTFLOW_LINK_SECRET":                 strings.Repeat(password, 4),
		"INCIDENTFLOW_OIDC_CLIENT_SECRET":          password,
		"INCIDENTFLOW_BENCH_TEMPORAL_DATABASE_URL": url,
		"TEMPORAL_ADDRESS":                         "127.0.0.1:1",
	}
	getenv := func(k string) string { return env[k] }
	for _, args := range [][]string{
		{"api", "--databse-url", "x"}, // mistyped: the usage is printed
		{"api", "-h"},
		{"worker", "-h"},
		{"migrate", "-h"},
		{"bench", "-h"},
		{"audit", "verify", "-h"},
		{"token", "list", "-h"},
		{"migrate"}, // cannot reach the database
		{"migrate", "--database-url", "postgres://app:" + password + "@127.0.0.1:1/x"},
		{"token", "list"},
		{"audit", "verify"},
		{"api", "--api-addr", "nonsense"}, // a configuration problem beside the secrets
		{"bench", "--quick", "--temporal-database-url", "mysql://root:" + password + "@db/x"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var out, errOut bytes.Buffer
			err := run(ctx, args, getenv, &out, &errOut)
			all := out.String() + errOut.String()
			if err != nil {
				all += err.Error()
			}
			require.NotContains(t, all, password, "%v printed a secret:\n%s", args, all)
			require.NotContains(t, all, "hunter2", "%v printed a secret:\n%s", args, all)
		})
	}
}
