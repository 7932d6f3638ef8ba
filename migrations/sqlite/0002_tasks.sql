-- Follow-up tasks created by task steps; the workflow decides, the table lists.
CREATE TABLE tasks (
    id           TEXT PRIMARY KEY,
    incident_ref TEXT NOT NULL REFERENCES incidents (ref),
    step         TEXT NOT NULL DEFAULT '',
    title        TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    owner        TEXT NOT NULL DEFAULT '',
    due_at       TIMESTAMP,
    status       TEXT NOT NULL,
    done_by      TEXT NOT NULL DEFAULT '',
    done_at      TIMESTAMP,
    note         TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMP NOT NULL
);
CREATE INDEX tasks_incident ON tasks (incident_ref, created_at);
CREATE INDEX tasks_open ON tasks (due_at) WHERE status = 'open';
