// Package storetest gives tests a real app database: a throwaway PostgreSQL
// started from the machine's binaries (or INCIDENTFLOW_TEST_DATABASE_URL), or a
// SQLite file. Under CI=true a PostgreSQL that cannot start fails the test
// instead of skipping it. For tests only.
package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/lib/pq" // the postgres driver, to create databases

	"github.com/incidentflow/incidentflow/store"
)

// EnvDatabaseURL names a PostgreSQL server to use instead of starting one; the
// tests create and drop databases on it.
const EnvDatabaseURL = "INCIDENTFLOW_TEST_DATABASE_URL"

var (
	once      sync.Once
	server    *Postgres
	serverErr error
	dbCounter atomic.Int64
)

// Main runs the tests of a package and stops the PostgreSQL it started, if any.
// Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

// Stop stops the PostgreSQL this test binary started, if any.
func Stop() {
	if server != nil {
		server.Stop()
	}
}

// Dialects lists the dialects a store test runs against.
var Dialects = []string{store.Postgres, store.SQLite}

// Open returns a migrated store on a fresh, empty database of the dialect,
// closed when the test ends.
func Open(tb testing.TB, dialect string) *store.Store {
	tb.Helper()
	s, err := store.Open(context.Background(), URL(tb, dialect))
	if err != nil {
		tb.Fatalf("open %s store: %v", dialect, err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		tb.Fatalf("migrate %s store: %v", dialect, err)
	}
	return s
}

// URL returns the URL of a fresh, empty database of the dialect.
func URL(tb testing.TB, dialect string) string {
	tb.Helper()
	if dialect == store.SQLite {
		return "sqlite:" + filepath.Join(tb.TempDir(), "app.db")
	}
	pg := Server(tb)
	name := fmt.Sprintf("t%d_%d", os.Getpid(), dbCounter.Add(1))
	if err := pg.exec("CREATE DATABASE " + name); err != nil {
		tb.Fatalf("create test database: %v", err)
	}
	return pg.DatabaseURL(name)
}

// Server returns the shared PostgreSQL server of this test binary, starting it
// on first use. Without PostgreSQL it skips the test, or fails it under CI.
func Server(tb testing.TB) *Postgres {
	tb.Helper()
	once.Do(func() {
		if u := os.Getenv(EnvDatabaseURL); u != "" {
			server, serverErr = External(u)
			return
		}
		server, serverErr = StartPostgres()
	})
	if serverErr != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("PostgreSQL is required under CI: %v", serverErr)
		}
		tb.Skipf("no PostgreSQL (set %s or install PostgreSQL): %v", EnvDatabaseURL, serverErr)
	}
	return server
}

// Postgres is a PostgreSQL server for tests.
type Postgres struct {
	base    *url.URL // URL of the maintenance database
	dataDir string   // set when this process started the server
	bin     string
	Port    int
}

// External uses an existing server at databaseURL.
func External(databaseURL string) (*Postgres, error) {
	u, err := url.Parse(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvDatabaseURL, err)
	}
	return &Postgres{base: u}, nil
}

// DatabaseURL is the URL of the named database on this server.
func (p *Postgres) DatabaseURL(name string) string {
	u := *p.base
	u.Path = "/" + name
	return u.String()
}

func (p *Postgres) exec(stmt string) error {
	db, err := sql.Open("postgres", p.base.String())
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	_, err = db.Exec(stmt)
	return err
}

// findBinaries returns the directory holding initdb and pg_ctl.
func findBinaries() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		dirs = append(dirs, filepath.Dir(p))
	}
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("initdb and pg_ctl not found in /usr/lib/postgresql/*/bin or PATH")
}

func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// StartPostgres initialises and starts a server in a temporary directory on a
// free loopback port, tuned for tests (no fsync). As root it runs as the
// postgres user, which PostgreSQL requires.
func StartPostgres() (*Postgres, error) {
	bin, err := findBinaries()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "incidentflow-pg-")
	if err != nil {
		return nil, err
	}
	p := &Postgres{dataDir: dir, bin: bin}
	if err := p.ownByPostgres(dir); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	data := filepath.Join(dir, "data")
	if out, err := p.run("initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p.Port = l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	if err := p.Start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	p.base = &url.URL{Scheme: "postgres", User: url.User("postgres"), Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(p.Port)),
		Path: "/postgres", RawQuery: "sslmode=disable"}
	return p, nil
}

// Start starts a server this process initialised (again, after Stop or Kill).
func (p *Postgres) Start() error {
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=500",
		p.Port, p.dataDir)
	out, err := p.run("pg_ctl", "start", "-D", filepath.Join(p.dataDir, "data"), "-w", "-t", "60",
		"-l", filepath.Join(p.dataDir, "postgres.log"), "-o", opts)
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(p.dataDir, "postgres.log"))
		return fmt.Errorf("pg_ctl start: %v: %s %s", err, out, tail(string(log)))
	}
	return nil
}

// Halt stops a server this process started, at once, keeping its data.
func (p *Postgres) Halt() error {
	if p.dataDir == "" {
		return fmt.Errorf("the server was not started by this process")
	}
	out, err := p.run("pg_ctl", "stop", "-D", filepath.Join(p.dataDir, "data"), "-m", "immediate", "-w")
	if err != nil {
		return fmt.Errorf("pg_ctl stop: %v: %s", err, out)
	}
	return nil
}

// Stop halts a server this process started and removes its files.
func (p *Postgres) Stop() {
	if p.dataDir == "" {
		return
	}
	_ = p.Halt()
	_ = os.RemoveAll(p.dataDir)
}

func (p *Postgres) run(tool string, args ...string) ([]byte, error) {
	path := filepath.Join(p.bin, tool)
	var cmd *exec.Cmd
	if os.Geteuid() == 0 {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd = exec.CommandContext(ctx, cmd.Path, cmd.Args[1:]...)
	cmd.Dir = p.dataDir
	return cmd.CombinedOutput()
}

// ownByPostgres hands dir to the postgres user when running as root.
func (p *Postgres) ownByPostgres(dir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("running as root needs a postgres user: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return os.Chown(dir, uid, gid)
}

func tail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return strings.Join(lines, "\n")
}

// PID is the process ID of a server this process started (its postmaster),
// read from postmaster.pid.
func (p *Postgres) PID() (int, error) {
	if p.dataDir == "" {
		return 0, fmt.Errorf("the server was not started by this process")
	}
	raw, err := os.ReadFile(filepath.Join(p.dataDir, "data", "postmaster.pid"))
	if err != nil {
		return 0, err
	}
	first, _, _ := strings.Cut(string(raw), "\n")
	return strconv.Atoi(strings.TrimSpace(first))
}
