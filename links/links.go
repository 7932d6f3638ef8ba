// Package links makes and reads the signed action links messages carry: a
// link that lets the person it was sent to acknowledge an incident, give an
// approval, complete a task or mark a review held with one button, or sign
// in. A link names its action, its incident, its person and when it
// expires, and carries an HMAC-SHA256 of all that under the deployment's
// secret. It imports no incidentflow package but dsl, whose messages hold
// the links' places.
package links

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/incidentflow/incidentflow/dsl"
)

// SignIn is the action of a link that signs a person in to the web app
// (in dev, where there is no OpenID Provider); the others are dsl's.
const SignIn = "signin"

// Lifetime is how long a link of each action works after it is made.
var Lifetime = map[string]time.Duration{
	dsl.LinkAcknowledge: 24 * time.Hour,
	dsl.LinkApprove:     7 * 24 * time.Hour,
	dsl.LinkComplete:    30 * 24 * time.Hour,
	dsl.LinkReview:      30 * 24 * time.Hour,
	SignIn:              15 * time.Minute,
}

// Link is what a link says: who may do what, on which incident, until when.
type Link struct {
	Action string `json:"a"`
	Ref    string `json:"r,omitempty"`
	// Target is the task of a complete link.
	Target string `json:"t,omitempty"`
	Person string `json:"p"`
	// Expires is when the link stops working, in Unix seconds.
	Expires int64 `json:"x"`
	// Nonce makes each link its own, so that one used is known as used.
	Nonce string `json:"n"`
}

// ExpiresAt is when the link stops working.
func (l Link) ExpiresAt() time.Time { return time.Unix(l.Expires, 0).UTC() }

// Errors of Parse.
var (
	ErrInvalid = errors.New("this link is not one incidentflow made: it may have been cut short when it was copied")
	ErrExpired = errors.New("this link has expired")
)

// Signer makes links under one secret and reads them under it or the
// secrets before it, so that rotating the secret leaves the links already
// sent working until they expire.
type Signer struct {
	keys [][]byte // the secret, then the earlier ones
}

// MinSecret is how many bytes a secret must have at least.
const MinSecret = 32

// New returns a signer for the secret, which must be at least MinSecret
// bytes, that also reads the links of the previous secrets (empty ones are
// none).
func New(secret []byte, previous ...[]byte) (*Signer, error) {
	if len(secret) < MinSecret {
		return nil, errors.New("the link secret must be at least 32 bytes (for example 64 hexadecimal digits: openssl rand -hex 32)")
	}
	s := &Signer{keys: [][]byte{bytes.Clone(secret)}}
	for _, p := range previous {
		if len(p) == 0 {
			continue
		}
		if len(p) < MinSecret {
			return nil, errors.New("the previous link secret must be at least 32 bytes, as it was")
		}
		s.keys = append(s.keys, bytes.Clone(p))
	}
	return s, nil
}

// Make returns the token of a new link for a person to do an action, valid
// from now for the action's lifetime.
func (s *Signer) Make(action, ref, target, person string, now time.Time) string {
	nonce := make([]byte, 12)
	_, _ = rand.Read(nonce) // crypto/rand does not fail
	l := Link{Action: action, Ref: ref, Target: target, Person: person,
		Expires: now.Add(Lifetime[action]).Unix(), Nonce: base64.RawURLEncoding.EncodeToString(nonce)}
	payload, _ := json.Marshal(l)
	p := base64.RawURLEncoding.EncodeToString(payload)
	return p + "." + base64.RawURLEncoding.EncodeToString(mac(s.keys[0], p))
}

// Parse reads a link's token: ErrInvalid when its signature does not hold,
// ErrExpired when it holds but the link has expired (the link comes back
// with it, so that the page can say what it was for).
func (s *Signer) Parse(token string, now time.Time) (Link, error) {
	p, sig, ok := strings.Cut(token, ".")
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if !ok || err != nil || !slices.ContainsFunc(s.keys, func(k []byte) bool { return hmac.Equal(got, mac(k, p)) }) {
		return Link{}, ErrInvalid
	}
	payload, err := base64.RawURLEncoding.DecodeString(p)
	var l Link
	if err != nil || json.Unmarshal(payload, &l) != nil || Lifetime[l.Action] == 0 || l.Person == "" {
		return Link{}, ErrInvalid
	}
	if !now.Before(l.ExpiresAt()) {
		return l, ErrExpired
	}
	return l, nil
}

func mac(key []byte, payload string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(payload))
	return m.Sum(nil)
}
