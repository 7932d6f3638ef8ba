package links_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/links"
)

func TestLinks(t *testing.T) {
	s, err := links.New([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	token := s.Make(dsl.LinkAcknowledge, "INC-7", "", "alice", now)

	t.Run("ReadBack", func(t *testing.T) {
		l, err := s.Parse(token, now.Add(time.Hour))
		require.NoError(t, err)
		require.Equal(t, "acknowledge", l.Action)
		require.Equal(t, "INC-7", l.Ref)
		require.Equal(t, "alice", l.Person)
		require.Equal(t, now.Add(24*time.Hour), l.ExpiresAt())
		require.NotEmpty(t, l.Nonce)
		other, _ := s.Parse(s.Make(dsl.LinkAcknowledge, "INC-7", "", "alice", now), now)
		require.NotEqual(t, l.Nonce, other.Nonce, "every link is its own")
	})
	t.Run("ErrExpired", func(t *testing.T) {
		l, err := s.Parse(token, now.Add(24*time.Hour))
		require.ErrorIs(t, err, links.ErrExpired)
		require.Equal(t, "INC-7", l.Ref, "an expired link still says what it was for")
	})
	t.Run("ErrForged", func(t *testing.T) {
		payload, sig, _ := strings.Cut(token, ".")
		for _, bad := range []string{
			"", "nonsense", token[:len(token)-3], payload, payload + ".",
			strings.Replace(payload, payload[5:6], string(payload[5]^1), 1) + "." + sig, // another person, the same signature
		} {
			_, err := s.Parse(bad, now)
			require.ErrorIs(t, err, links.ErrInvalid, "%q", bad)
		}
		elsewhere, err := links.New([]byte("another secret of at least 32 bytes!"))
		require.NoError(t, err)
		_, err = elsewhere.Parse(token, now)
		require.ErrorIs(t, err, links.ErrInvalid, "a link of another deployment")
	})
	t.Run("ErrShortSecret", func(t *testing.T) {
		_, err := links.New([]byte("short"))
		require.ErrorContains(t, err, "at least 32 bytes")
	})
}

// Rotating the secret leaves the links already sent working until they
// expire: a signer reads them under the previous secret, and makes new ones
// under the new; without the previous secret, the old links are refused.
func TestRotatedSecretStillReadsItsLinks(t *testing.T) {
	now := time.Now()
	old, err := links.New([]byte(strings.Repeat("o", links.MinSecret)))
	require.NoError(t, err)
	sent := old.Make("acknowledge", "INC-1", "", "bob", now)
	rotated, err := links.New([]byte(strings.Repeat("n", links.MinSecret)), []byte(strings.Repeat("o", links.MinSecret)))
	require.NoError(t, err)
	l, err := rotated.Parse(sent, now)
	require.NoError(t, err)
	require.Equal(t, "bob", l.Person)
	fresh := rotated.Make("acknowledge", "INC-1", "", "bob", now)
	_, err = old.Parse(fresh, now)
	require.ErrorIs(t, err, links.ErrInvalid, "a new link is signed with the new secret")
	done, err := links.New([]byte(strings.Repeat("n", links.MinSecret)))
	require.NoError(t, err)
	_, err = done.Parse(sent, now)
	require.ErrorIs(t, err, links.ErrInvalid, "once the previous secret is dropped, its links are not taken")
	_, err = links.New([]byte(strings.Repeat("n", links.MinSecret)), []byte("short"))
	require.Error(t, err)
}
