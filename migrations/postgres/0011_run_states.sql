-- What each incident's run last reported of its whole state (JSON), written
-- with each change it records, so that reads are served from the database
-- and never wait behind the run's work on a busy worker.
CREATE TABLE run_states (
    incident_ref  TEXT PRIMARY KEY REFERENCES incidents (ref),
    state         TEXT NOT NULL,
    written_at    TIMESTAMPTZ NOT NULL
);
