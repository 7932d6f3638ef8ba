-- Sign-ins with an OpenID Provider under way: the state the browser brings
-- back (its hash), and what only the server keeps: the PKCE verifier and
-- the nonce. A flow is taken once, and expires after a few minutes.
CREATE TABLE signin_flows (
    state_hash  TEXT PRIMARY KEY,
    verifier    TEXT NOT NULL,
    nonce       TEXT NOT NULL,
    next        TEXT NOT NULL DEFAULT '/',
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL
);
CREATE INDEX signin_flows_expires ON signin_flows (expires_at);

-- My work lists the follow-ups a person owns.
CREATE INDEX tasks_owner ON tasks (owner, status);
