package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/processes"
	"github.com/incidentflow/incidentflow/web"
	"github.com/incidentflow/incidentflow/worker"
)

// flags is a command's flag set whose defaults come from environment twins, and
// which collects every configuration problem before reporting them together.
type flags struct {
	fs       *flag.FlagSet
	getenv   func(string) string
	problems []string
}

func (e environment) flags(name, summary string) *flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: incidentflow %s [flags]\n\n%s\n\nFlags:\n", name, summary)
		fs.PrintDefaults()
	}
	return &flags{fs: fs, getenv: e.getenv}
}

// str defines a string flag defaulting to $env, else def.
func (f *flags) str(p *string, name, env, def, help string) {
	if v := f.getenv(env); v != "" {
		def = v
	}
	f.fs.StringVar(p, name, def, fmt.Sprintf("%s (env %s)", help, env))
}

// count defines a whole-number flag defaulting to $env, else def; a value
// of $env that is not a whole number is a problem.
func (f *flags) count(p *int, name, env string, def int, help string) {
	if v := f.getenv(env); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			f.problem("%s %q must be a whole number", env, v)
		} else {
			def = n
		}
	}
	f.fs.IntVar(p, name, def, fmt.Sprintf("%s (env %s)", help, env))
}

// workerCacheEnv is the environment twin of --worker-cache-size.
const workerCacheEnv = "INCIDENTFLOW_WORKER_CACHE_SIZE"

// workerCache defines the worker's cache size, for the commands that run a worker.
func (f *flags) workerCache(p *int) {
	f.count(p, "worker-cache-size", workerCacheEnv, worker.DefaultCacheSize,
		"open runs the worker keeps in memory between their steps, about 140 KiB each; one evicted replays its history when it wakes (0: none)")
}

// checkWorkerCache refuses a cache size below 0.
func (f *flags) checkWorkerCache(n int) {
	if n < 0 {
		f.problem("--worker-cache-size %d must be 0 or more runs", n)
	}
}

// secret is like str but also reads $env_FILE, for secrets mounted as files.
func (f *flags) secret(p *string, name, env, help string) {
	def := f.getenv(env)
	if file := f.getenv(env + "_FILE"); file != "" && def == "" {
		b, err := os.ReadFile(file)
		if err != nil {
			f.problems = append(f.problems, fmt.Sprintf("%s_FILE: %v", env, err))
		}
		def = strings.TrimSpace(string(b))
	}
	*p = def
	f.fs.Var((*secretValue)(p), name, fmt.Sprintf("%s (env %s or %s_FILE)", help, env, env))
}

// secretValue is a string flag that never shows what it holds: the usage
// prints no default for it, so that a mistyped flag does not print the
// database password someone set in the environment.
type secretValue string

func (v *secretValue) Set(s string) error { *v = secretValue(s); return nil }

func (v *secretValue) String() string { return "" }

func (f *flags) parse(args []string) error {
	if err := f.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitCode(0)
		}
		return exitCode(2)
	}
	return nil
}

func (f *flags) problem(format string, args ...any) {
	f.problems = append(f.problems, fmt.Sprintf(format, args...))
}

// check returns every problem found, one a line.
func (f *flags) check() error {
	if len(f.problems) == 0 {
		return nil
	}
	return fmt.Errorf("invalid configuration:\n  %s", strings.Join(f.problems, "\n  "))
}

func (f *flags) hostPort(name, addr string) {
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
		f.problem("--%s %q must be host:port", name, addr)
	}
}

func (f *flags) httpURL(name, value string) {
	if value == "" {
		return
	}
	if !incidentflow.IsWebURL(value) {
		f.problem("--%s %q must be an http or https URL", name, value)
	}
}

// logConfig is how a command logs.
type logConfig struct {
	level  string
	format string
}

func (f *flags) logging(c *logConfig) {
	f.str(&c.level, "log-level", "INCIDENTFLOW_LOG_LEVEL", "info", "debug, info, warn or error")
	f.str(&c.format, "log-format", "INCIDENTFLOW_LOG_FORMAT", "text", "text or json")
}

func (c logConfig) logger(f *flags, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.level)); err != nil {
		f.problem("--log-level %q must be debug, info, warn or error", c.level)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch c.format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts))
	case "text":
		return slog.New(slog.NewTextHandler(w, opts))
	}
	f.problem("--log-format %q must be text or json", c.format)
	return slog.New(slog.NewTextHandler(w, opts))
}

// temporalConfig is how to reach an external Temporal.
type temporalConfig struct {
	address, namespace            string
	tlsCert, tlsKey, tlsCA, tlsSN string
}

func (f *flags) temporal(c *temporalConfig) {
	f.str(&c.address, "temporal-address", "TEMPORAL_ADDRESS", "127.0.0.1:7233", "Temporal frontend host:port")
	f.str(&c.namespace, "temporal-namespace", "TEMPORAL_NAMESPACE", "default", "Temporal namespace")
	f.str(&c.tlsCert, "temporal-tls-cert", "TEMPORAL_TLS_CERT", "", "client certificate file for mTLS")
	f.str(&c.tlsKey, "temporal-tls-key", "TEMPORAL_TLS_KEY", "", "client key file for mTLS")
	f.str(&c.tlsCA, "temporal-tls-ca", "TEMPORAL_TLS_CA", "", "CA certificate file to verify the server")
	f.str(&c.tlsSN, "temporal-tls-server-name", "TEMPORAL_TLS_SERVER_NAME", "", "server name to verify (enables TLS)")
}

func (f *flags) checkTemporal(c temporalConfig) {
	f.hostPort("temporal-address", c.address)
	if (c.tlsCert == "") != (c.tlsKey == "") {
		f.problem("--temporal-tls-cert and --temporal-tls-key go together")
	}
}

// catalog loads the processes for a command that runs them: their problems go
// to stderr, one a line, and the command exits 1.
func (e environment) catalog(dir string) (*dsl.Catalog, error) {
	cat, err := loadCatalog(dir)
	if err != nil {
		fmt.Fprintln(e.stderr, err)
		return nil, exitCode(1)
	}
	return cat, nil
}

// loadCatalog reads the processes in dir, or the built-in ones when dir is
// empty. When dir is a process file, it reads that file alone, with the
// directory.yaml beside it.
func loadCatalog(dir string) (*dsl.Catalog, error) {
	if dir == "" {
		return dsl.Load(processes.FS, "processes (built-in)")
	}
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%s: there is no such file or folder", dir)
	case err == nil && !st.IsDir() && filepath.Base(dir) != dsl.DirectoryFile:
		return dsl.LoadFile(os.DirFS(filepath.Dir(dir)), filepath.Dir(dir), filepath.Base(dir))
	case err == nil && !st.IsDir(): // directory.yaml: what uses it is checked with it
		dir = filepath.Dir(dir)
	}
	return dsl.Load(os.DirFS(dir), dir)
}

// oidcConfig is the web app's registration with an OpenID Provider.
type oidcConfig struct {
	issuer, clientID, clientSecret string
}

func (f *flags) oidc(c *oidcConfig) {
	f.str(&c.issuer, "oidc-issuer", "INCIDENTFLOW_OIDC_ISSUER", "", "OpenID Provider people sign in to the web app with: its issuer URL (default: none)")
	f.str(&c.clientID, "oidc-client-id", "INCIDENTFLOW_OIDC_CLIENT_ID", "", "the web app's client id at the OpenID Provider")
	f.secret(&c.clientSecret, "oidc-client-secret", "INCIDENTFLOW_OIDC_CLIENT_SECRET", "the web app's client secret at the OpenID Provider")
}

// checkOIDC reports what is missing or wrong of a provider's settings, and
// returns them for the web app (nil when no provider is set). The redirect
// URL people come back to is PUBLIC_URL/signin/callback: register it.
func (f *flags) checkOIDC(c oidcConfig, publicURL string) *web.OIDCConfig {
	if c.issuer == "" && c.clientID == "" && c.clientSecret == "" {
		return nil
	}
	if c.issuer == "" {
		f.problem("--oidc-issuer is required with an OpenID client: set INCIDENTFLOW_OIDC_ISSUER to the provider's issuer URL")
	} else if u, err := url.Parse(c.issuer); err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) {
		f.problem("--oidc-issuer %q must be an https URL (http only on this machine: localhost, 127.0.0.1)", c.issuer)
	}
	if c.clientID == "" {
		f.problem("--oidc-client-id is required with an OpenID Provider: set INCIDENTFLOW_OIDC_CLIENT_ID")
	}
	if c.clientSecret == "" {
		f.problem("--oidc-client-secret is required with an OpenID Provider: set INCIDENTFLOW_OIDC_CLIENT_SECRET (or _FILE)")
	}
	if publicURL == "" {
		f.problem("--public-url is required with an OpenID Provider: people come back to PUBLIC_URL/signin/callback, which the provider must know (set INCIDENTFLOW_PUBLIC_URL)")
	}
	return &web.OIDCConfig{Issuer: c.issuer, ClientID: c.clientID, ClientSecret: c.clientSecret}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// redactURL is a URL as it may be printed: without its password, and
// without anything at all when it does not read as a URL.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return "(a value that is not a URL)"
	}
	return u.Redacted()
}
