-- What each incident's run last reported of its whole state (JSON), written
-- with each change it records and as it moves, so that reads are served
-- from the database and never wait behind the run's work on a busy worker.
-- The run numbers its states: a newer version always wins.
CREATE TABLE run_states (
    incident_ref  TEXT PRIMARY KEY REFERENCES incidents (ref),
    version       BIGINT NOT NULL,
    state         TEXT NOT NULL,
    written_at    TIMESTAMPTZ NOT NULL
);
