-- Process versions: every process file an incident ran, by content hash.
CREATE TABLE process_versions (
    hash        TEXT PRIMARY KEY,
    type        TEXT NOT NULL,
    file        TEXT NOT NULL,
    yaml        TEXT NOT NULL,
    snapshot    JSONB NOT NULL,
    first_seen  TIMESTAMPTZ NOT NULL
);

-- Counters hand out incident numbers: the row lock serialises concurrent
-- declarations without gaps from retries.
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('incident', 0);

CREATE TABLE incidents (
    ref                 TEXT PRIMARY KEY,
    number              BIGINT NOT NULL UNIQUE,
    type                TEXT NOT NULL,
    title               TEXT NOT NULL,
    summary             TEXT NOT NULL DEFAULT '',
    severity            TEXT NOT NULL,
    status              TEXT NOT NULL,
    fields              JSONB NOT NULL DEFAULT '{}',
    process_hash        TEXT NOT NULL REFERENCES process_versions (hash),
    workflow_id         TEXT NOT NULL UNIQUE,
    workflow_started_at TIMESTAMPTZ,
    declared_by         TEXT NOT NULL DEFAULT '',
    declared_at         TIMESTAMPTZ NOT NULL,
    acknowledged_at     TIMESTAMPTZ,
    acknowledged_by     TEXT NOT NULL DEFAULT '',
    resolved_at         TIMESTAMPTZ,
    closed_at           TIMESTAMPTZ,
    updated_at          TIMESTAMPTZ NOT NULL,
    idempotency_key     TEXT UNIQUE
);
CREATE INDEX incidents_type_status ON incidents (type, status);
CREATE INDEX incidents_unstarted ON incidents (declared_at) WHERE workflow_started_at IS NULL;

CREATE TABLE timeline_events (
    id           BIGSERIAL PRIMARY KEY,
    incident_ref TEXT NOT NULL REFERENCES incidents (ref),
    at           TIMESTAMPTZ NOT NULL,
    kind         TEXT NOT NULL,
    step         TEXT NOT NULL DEFAULT '',
    actor        TEXT NOT NULL DEFAULT '',
    message      TEXT NOT NULL,
    data         JSONB,
    dedup_key    TEXT NOT NULL UNIQUE
);
CREATE INDEX timeline_events_incident ON timeline_events (incident_ref, at, id);

-- Deliveries: one row per message that must reach someone exactly once.
CREATE TABLE deliveries (
    key          TEXT PRIMARY KEY,
    incident_ref TEXT NOT NULL REFERENCES incidents (ref),
    channel      TEXT NOT NULL,
    recipient    TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    error        TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL,
    sent_at      TIMESTAMPTZ
);
