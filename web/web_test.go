package web

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/dsl"
)

// A sign-in sends people on only to a path of this app.
func TestLocalPath(t *testing.T) {
	for next, want := range map[string]string{
		"/incidents/INC-4?x=1":   "/incidents/INC-4?x=1",
		"":                       "/",
		"https://evil.example/":  "/",
		"//evil.example/":        "/",
		"/\\evil.example/":       "/",
		"incidents":              "/",
		"/ok\r\nSet-Cookie: a=b": "/",
		"javascript:alert(1)":    "/",
	} {
		require.Equal(t, want, localPath(next), next)
	}
}

// The OpenID Provider's word that an address is verified is true, or "true".
func TestClaimsVerified(t *testing.T) {
	require.True(t, claims{Verified: true}.verified())
	require.True(t, claims{Verified: "true"}.verified())
	require.False(t, claims{Verified: false}.verified())
	require.False(t, claims{Verified: "no"}.verified())
	require.False(t, claims{}.verified())
}

// People are found by e-mail in any case, and not when two share it.
func TestPersonByEmail(t *testing.T) {
	dir := &dsl.Directory{People: []dsl.Person{
		{ID: "alice", Email: "Alice@Example.com"}, {ID: "bob", Email: "ops@example.com"}, {ID: "carol", Email: "OPS@example.com"}, {ID: "dan"}}}
	p, ok := personByEmail(dir, "alice@example.COM")
	require.True(t, ok)
	require.Equal(t, "alice", p.ID)
	_, ok = personByEmail(dir, "ops@example.com")
	require.False(t, ok, "a shared address names nobody for sure")
	_, ok = personByEmail(dir, "")
	require.False(t, ok, "no address is nobody's")
}

// Spans of time read in their two largest units.
func TestSpan(t *testing.T) {
	for d, want := range map[time.Duration]string{
		30 * time.Second: "less than a minute", 5 * time.Minute: "5m", 3*time.Hour + 10*time.Minute: "3h 10m",
		2 * time.Hour: "2h", 50 * time.Hour: "2d 2h", 72 * time.Hour: "3d",
	} {
		require.Equal(t, want, span(d), d.String())
	}
}
