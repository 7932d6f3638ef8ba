package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/store"
)

// updateIDKey is where idempotent leaves the Temporal Update ID derived from
// the request's Idempotency-Key.
const updateIDKey = "incidentflow.update_id"

// idempotencyKey reads the request's Idempotency-Key header ("" when it has
// none), refusing one that is not a printable line of at most MaxKey characters.
func idempotencyKey(c *gin.Context) (string, error) {
	key := c.GetHeader("Idempotency-Key")
	if msg := incidentflow.CheckString(key, true, incidentflow.MaxKey); msg != "" {
		return "", &incidentflow.Error{Code: incidentflow.EBADREQUEST, Message: "the Idempotency-Key header " + msg,
			Details: []incidentflow.Detail{{Field: "Idempotency-Key", Message: msg}}}
	}
	return key, nil
}

// canonicalJSON is a JSON body written one way: keys in order, no spaces,
// numbers as sent. A body that is not JSON, or that the API refuses as
// written (a key given twice, say, which decoding would fold into one), is
// itself.
func canonicalJSON(raw []byte) []byte {
	if checkJSON(raw) != nil {
		return raw
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil || d.More() {
		return raw
	}
	out, err := json.Marshal(v)
	if err != nil {
		return raw
	}
	return out
}

// hashOf identifies a request's content: the parts given, in order.
func hashOf(parts ...[]byte) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:", len(p))
		h.Write(p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// idempotent makes a request sent with an Idempotency-Key happen once: a
// retry with the same key and the same request (method, path, body) gets
// the first answer again, marked Idempotent-Replayed; the same key with
// another request is refused with 422; a retry while the first is still
// being answered gets 409. An answer that says the request could not be
// carried out (5xx, 429) is not kept, so a retry tries again, but the key
// stays the request's (another body with it is still refused: the first may
// yet be carried out); the Temporal Update ID derived from the key keeps the
// update itself from running twice. Bodies are compared as JSON, so the same
// request written another way (spaces, the order of keys) is the same.
// Keys belong to the caller: two callers' keys never meet.
func (s *Server) idempotent(c *gin.Context) {
	key, err := idempotencyKey(c)
	if err != nil {
		s.fail(c, err)
		c.Abort()
		return
	}
	if key == "" {
		c.Next()
		return
	}
	raw, err := readBody(c)
	if err != nil {
		s.fail(c, err)
		c.Abort()
		return
	}
	c.Request.Body = io.NopCloser(bytes.NewReader(raw))
	ctx := c.Request.Context()
	caller := callerID(c)
	route := c.Request.Method + " " + c.Request.URL.Path
	req := store.RequestKey{Principal: caller, Key: key, Route: route, RequestHash: hashOf([]byte(route), canonicalJSON(raw))}
	prev, begun, err := s.cfg.Store.BeginRequest(ctx, req)
	if err != nil {
		s.fail(c, err)
		c.Abort()
		return
	}
	if !begun {
		switch {
		case prev.RequestHash != req.RequestHash:
			s.fail(c, &incidentflow.Error{Code: incidentflow.EINVALID,
				Message: fmt.Sprintf("the Idempotency-Key %q was already used for another request (%s); use a new key for a new request", key, prev.Route),
				Details: []incidentflow.Detail{{Field: "Idempotency-Key", Message: "already used for another request"}}})
		case prev.Status == nil:
			s.fail(c, incidentflow.Errorf(incidentflow.ECONFLICT, "the request with Idempotency-Key %q is still being answered; retry in a moment", key))
		default:
			c.Header("Idempotent-Replayed", "true")
			c.Data(*prev.Status, "application/json; charset=utf-8", []byte(prev.Response))
		}
		c.Abort()
		return
	}
	// The update's ID is the request's: a retry is the same update, and a
	// key used again after it expired (a new record, made at another time)
	// is another.
	made := prev.CreatedAt.UTC().Format(time.RFC3339Nano)
	c.Set(updateIDKey, "key-"+hashOf([]byte(caller), []byte(key), []byte(req.RequestHash), []byte(made))[:40])
	w := &recordingWriter{ResponseWriter: c.Writer}
	c.Writer = w
	c.Next()
	// The answer is kept even when the caller has gone: what happened, happened.
	ctx = context.WithoutCancel(ctx)
	if status := w.Status(); status >= 500 || status == http.StatusTooManyRequests {
		err = s.cfg.Store.ReleaseRequest(ctx, caller, key)
	} else {
		err = s.cfg.Store.FinishRequest(ctx, caller, key, status, w.body.String())
	}
	if err != nil {
		s.cfg.Logger.Warn("could not keep the answer to an idempotent request", "path", c.Request.URL.Path, "error", err)
	}
}

// recordingWriter keeps a copy of the response body.
type recordingWriter struct {
	gin.ResponseWriter
	body bytes.Buffer
}

func (w *recordingWriter) Write(b []byte) (int, error) {
	w.body.Write(b)
	return w.ResponseWriter.Write(b)
}

func (w *recordingWriter) WriteString(s string) (int, error) {
	w.body.WriteString(s)
	return w.ResponseWriter.WriteString(s)
}
