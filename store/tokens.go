package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"

	"github.com/incidentflow/incidentflow"
)

// tokenPrefix marks incidentflow tokens, so a leaked one is recognisable.
const tokenPrefix = "ifl_"

// HashToken is how a token is stored and looked up.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

type tokenRow struct {
	incidentflow.Token
	ScopesText string `db:"scopes"`
}

func (r tokenRow) token() incidentflow.Token {
	t := r.Token
	t.Scopes = strings.Split(r.ScopesText, ",")
	return t
}

// CreateToken makes a random token with the given name and scopes, stores its
// hash and returns the token itself, which is never available again.
func (s *Store) CreateToken(ctx context.Context, name string, scopes []string) (string, incidentflow.Token, error) {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return "", incidentflow.Token{}, err
	}
	id := make([]byte, 6)
	if _, err := rand.Read(id); err != nil {
		return "", incidentflow.Token{}, err
	}
	token := tokenPrefix + base64.RawURLEncoding.EncodeToString(secret)
	t := incidentflow.Token{ID: "tok_" + hex.EncodeToString(id), Name: name, Scopes: scopes, CreatedAt: s.now()}
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO api_tokens (id, name, scopes, hash, created_at) VALUES (?, ?, ?, ?, ?)`),
		t.ID, t.Name, strings.Join(scopes, ","), HashToken(token), t.CreatedAt)
	if isUniqueViolation(err) {
		return "", t, incidentflow.Errorf(incidentflow.ECONFLICT, "a token named %q exists already", name)
	}
	if err != nil {
		return "", t, wrap(err, "create token")
	}
	return token, t, nil
}

// TokenByHash returns the unrevoked token with the given hash, or EUNAUTHORIZED.
func (s *Store) TokenByHash(ctx context.Context, hash string) (incidentflow.Token, error) {
	var r tokenRow
	err := s.db.GetContext(ctx, &r, s.db.Rebind(`SELECT id, name, scopes, created_at, revoked_at FROM api_tokens WHERE hash = ? AND revoked_at IS NULL`), hash)
	if errors.Is(err, sql.ErrNoRows) {
		return incidentflow.Token{}, incidentflow.Errorf(incidentflow.EUNAUTHORIZED, "the token is not valid: unknown or revoked")
	}
	if err != nil {
		return incidentflow.Token{}, wrap(err, "read token")
	}
	return r.token(), nil
}

// Tokens lists every token, revoked ones included, oldest first.
func (s *Store) Tokens(ctx context.Context) ([]incidentflow.Token, error) {
	var rows []tokenRow
	if err := s.db.SelectContext(ctx, &rows, `SELECT id, name, scopes, created_at, revoked_at FROM api_tokens ORDER BY created_at, id`); err != nil {
		return nil, wrap(err, "list tokens")
	}
	out := make([]incidentflow.Token, len(rows))
	for i, r := range rows {
		out[i] = r.token()
	}
	return out, nil
}

// RevokeToken revokes the token with the given id or name.
func (s *Store) RevokeToken(ctx context.Context, idOrName string) (incidentflow.Token, error) {
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE api_tokens SET revoked_at = ? WHERE (id = ? OR name = ?) AND revoked_at IS NULL`), s.now(), idOrName, idOrName)
	if err != nil {
		return incidentflow.Token{}, wrap(err, "revoke token")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return incidentflow.Token{}, incidentflow.Errorf(incidentflow.ENOTFOUND, "no active token %q", idOrName)
	}
	var r tokenRow
	err = s.db.GetContext(ctx, &r, s.db.Rebind(`SELECT id, name, scopes, created_at, revoked_at FROM api_tokens WHERE id = ? OR name = ?`), idOrName, idOrName)
	return r.token(), wrap(err, "read token")
}
