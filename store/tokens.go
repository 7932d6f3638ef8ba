package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
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

const tokenColumns = `id, name, principal_kind, principal_id, role, created_at, revoked_at`

// CreateToken makes a random token for a principal with an access role,
// named for what uses it (the principal's name when empty), stores its
// hash and returns the token itself, which is never available again.
func (s *Store) CreateToken(ctx context.Context, name string, p incidentflow.Principal) (string, incidentflow.Token, error) {
	secret, err := randomToken()
	if err != nil {
		return "", incidentflow.Token{}, err
	}
	id := make([]byte, 6)
	if _, err := rand.Read(id); err != nil {
		return "", incidentflow.Token{}, err
	}
	t := incidentflow.Token{ID: "tok_" + hex.EncodeToString(id), Name: name, Kind: p.Kind, Principal: p.ID, Role: p.Role, CreatedAt: s.now()}
	if t.Name == "" {
		t.Name = p.String() + "-" + hex.EncodeToString(id[:3])
	}
	if strings.HasPrefix(t.Name, "tok_") {
		return "", t, incidentflow.Errorf(incidentflow.EINVALID, "a token's name cannot start with tok_, as its id does: revoking by id must name one token")
	}
	token := tokenPrefix + secret
	_, err = s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO api_tokens (id, name, principal_kind, principal_id, role, hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`),
		t.ID, t.Name, t.Kind, t.Principal, t.Role, HashToken(token), t.CreatedAt)
	if isUniqueViolation(err) {
		return "", t, incidentflow.Errorf(incidentflow.ECONFLICT, "a token named %q exists already", t.Name)
	}
	if err != nil {
		return "", t, wrap(err, "create token")
	}
	return token, t, nil
}

// TokenByHash returns the unrevoked token with the given hash, or EUNAUTHORIZED.
func (s *Store) TokenByHash(ctx context.Context, hash string) (incidentflow.Token, error) {
	var t incidentflow.Token
	err := s.db.GetContext(ctx, &t, s.db.Rebind(`SELECT `+tokenColumns+` FROM api_tokens WHERE hash = ? AND revoked_at IS NULL`), hash)
	if errors.Is(err, sql.ErrNoRows) {
		return t, incidentflow.Errorf(incidentflow.EUNAUTHORIZED, "the token is not valid: unknown or revoked")
	}
	return t, wrap(err, "read token")
}

// Tokens lists every token, revoked ones included, oldest first.
func (s *Store) Tokens(ctx context.Context) ([]incidentflow.Token, error) {
	out := []incidentflow.Token{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+tokenColumns+` FROM api_tokens ORDER BY created_at, id`)
	return out, wrap(err, "list tokens")
}

// RevokeToken revokes the token with the given id or name.
func (s *Store) RevokeToken(ctx context.Context, idOrName string) (incidentflow.Token, error) {
	// An id names one token; a name only when no id is it.
	for _, col := range []string{"id", "name"} {
		res, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE api_tokens SET revoked_at = ? WHERE `+col+` = ? AND revoked_at IS NULL`), s.now(), idOrName)
		if err != nil {
			return incidentflow.Token{}, wrap(err, "revoke token")
		}
		if n, _ := res.RowsAffected(); n == 1 {
			var t incidentflow.Token
			err = s.db.GetContext(ctx, &t, s.db.Rebind(`SELECT `+tokenColumns+` FROM api_tokens WHERE `+col+` = ?`), idOrName)
			return t, wrap(err, "read token")
		}
	}
	return incidentflow.Token{}, incidentflow.Errorf(incidentflow.ENOTFOUND, "no active token %q", idOrName)
}
