-- Tokens belong to a principal (a person of the directory or a named
-- service) and hold an access role; the scopes they held map onto roles.
ALTER TABLE api_tokens ADD COLUMN principal_kind TEXT NOT NULL DEFAULT 'service';
ALTER TABLE api_tokens ADD COLUMN principal_id TEXT NOT NULL DEFAULT '';
ALTER TABLE api_tokens ADD COLUMN role TEXT NOT NULL DEFAULT 'viewer';
UPDATE api_tokens SET principal_id = name, role = CASE
    WHEN scopes LIKE '%admin%' THEN 'admin'
    WHEN scopes LIKE '%respond%' THEN 'responder'
    WHEN scopes LIKE '%declare%' THEN 'declarer'
    ELSE 'viewer' END;
ALTER TABLE api_tokens DROP COLUMN scopes;

-- Incidents of a restricted process are seen only by its viewers, their
-- role holders, the people they reached and admins. A restricted process
-- version keeps its viewers (a JSON list of kind:id targets).
ALTER TABLE incidents ADD COLUMN restricted BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE process_versions ADD COLUMN viewers TEXT;

-- Every role assignment, by whom: the holders, past and present, see the
-- incident; the latest row of a role is who holds it.
CREATE TABLE incident_roles (
    id           BIGSERIAL PRIMARY KEY,
    incident_ref TEXT NOT NULL REFERENCES incidents (ref),
    role         TEXT NOT NULL,
    person       TEXT NOT NULL,
    assigned_by  TEXT NOT NULL,
    assigned_at  TIMESTAMPTZ NOT NULL,
    dedup_key    TEXT NOT NULL UNIQUE
);
CREATE INDEX incident_roles_person ON incident_roles (person, incident_ref);

-- The audit log: every authenticated action and every refused attempt,
-- append-only, each entry hashed with the one before it.
CREATE TABLE audit_log (
    seq        BIGINT PRIMARY KEY,
    at         TIMESTAMPTZ NOT NULL,
    principal  TEXT NOT NULL,
    via        TEXT NOT NULL,
    action     TEXT NOT NULL,
    target     TEXT NOT NULL DEFAULT '',
    outcome    TEXT NOT NULL,
    status     INTEGER NOT NULL DEFAULT 0,
    detail     TEXT NOT NULL DEFAULT '',
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);

-- Action links used: one that acts once (acknowledge) is refused after.
CREATE TABLE link_uses (
    nonce      TEXT PRIMARY KEY,
    action     TEXT NOT NULL,
    target     TEXT NOT NULL,
    principal  TEXT NOT NULL,
    used_at    TIMESTAMPTZ NOT NULL
);

-- Signed-in people: the cookie holds a random id, the table its hash.
CREATE TABLE sessions (
    id_hash        TEXT PRIMARY KEY,
    principal_id   TEXT NOT NULL,
    csrf           TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    expires_at     TIMESTAMPTZ NOT NULL,
    last_seen_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- The people an incident reached see it: deliveries are looked up by recipient.
CREATE INDEX deliveries_recipient ON deliveries (recipient, incident_ref) WHERE status = 'sent';
