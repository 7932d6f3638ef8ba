package main

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/web"
)

// The api's OpenID Provider settings are checked with the rest: every
// problem at once, the secret from a file, http only on this machine.
func TestOIDCConfig(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(secretFile, []byte("s3cret\n"), 0o600))
	cases := []struct {
		name     string
		env      map[string]string
		problems []string
		want     *web.OIDCConfig
	}{
		{"NoProviderIsNoProvider", map[string]string{}, nil, nil},
		{"ErrEveryProblemAtOnce", map[string]string{"INCIDENTFLOW_OIDC_CLIENT_ID": "web"}, []string{
			"--oidc-issuer is required with an OpenID client",
			"--oidc-client-secret is required with an OpenID Provider",
			"--public-url is required with an OpenID Provider: people come back to PUBLIC_URL/signin/callback",
		}, nil},
		{"ErrPlainHTTPElsewhere", map[string]string{"INCIDENTFLOW_OIDC_ISSUER": "http://idp.example.com/", "INCIDENTFLOW_OIDC_CLIENT_ID": "web",
			"INCIDENTFLOW_OIDC_CLIENT_SECRET": "s", "INCIDENTFLOW_PUBLIC_URL": "https://incidents.example.com"},
			[]string{`--oidc-issuer "http://idp.example.com/" must be an https URL`}, nil},
		{"SecretFromAFile", map[string]string{"INCIDENTFLOW_OIDC_ISSUER": "https://idp.example.com", "INCIDENTFLOW_OIDC_CLIENT_ID": "web",
			"INCIDENTFLOW_OIDC_CLIENT_SECRET_FILE": secretFile, "INCIDENTFLOW_PUBLIC_URL": "https://incidents.example.com"},
			nil, &web.OIDCConfig{Issuer: "https://idp.example.com", ClientID: "web", ClientSecret: "s3cret"}},
		{"LoopbackMayBePlainHTTP", map[string]string{"INCIDENTFLOW_OIDC_ISSUER": "http://localhost:9998/", "INCIDENTFLOW_OIDC_CLIENT_ID": "web",
			"INCIDENTFLOW_OIDC_CLIENT_SECRET": "secret", "INCIDENTFLOW_PUBLIC_URL": "http://127.0.0.1:8080"},
			nil, &web.OIDCConfig{Issuer: "http://localhost:9998/", ClientID: "web", ClientSecret: "secret"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := environment{getenv: func(k string) string { return c.env[k] }, stdout: io.Discard, stderr: io.Discard}
			var pc prodConfig
			f := env.prodFlags("api", "", &pc)
			require.NoError(t, f.parse(nil))
			pc.check(f, "api")
			var problems []string
			for _, p := range f.problems {
				for _, want := range c.problems {
					if len(p) >= len(want) && p[:len(want)] == want {
						problems = append(problems, want)
					}
				}
				require.NotContains(t, p, "oidc-client-id is required", "the client id was given")
			}
			require.ElementsMatch(t, c.problems, problems, "%q", f.problems)
			if c.problems == nil {
				require.Equal(t, c.want, pc.signIn)
			}
		})
	}
}
