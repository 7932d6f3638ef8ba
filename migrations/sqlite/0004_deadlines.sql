-- Deadlines (statutory and contractual clocks) as their runs report them, so
-- the API can list what falls due across every incident.
CREATE TABLE deadlines (
    id           TEXT PRIMARY KEY,
    incident_ref TEXT NOT NULL REFERENCES incidents (ref),
    step         TEXT NOT NULL DEFAULT '',
    title        TEXT NOT NULL,
    start_at     TIMESTAMP NOT NULL,
    due_at       TIMESTAMP NOT NULL,
    status       TEXT NOT NULL,
    done_at      TIMESTAMP
);
CREATE INDEX deadlines_due ON deadlines (due_at);
