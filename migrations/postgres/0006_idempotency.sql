-- Requests sent with an Idempotency-Key, by the principal that sent them: a
-- retry with the same key and the same request gets the first answer again;
-- the same key with another request is refused.
CREATE TABLE request_keys (
    principal    TEXT NOT NULL,
    key          TEXT NOT NULL,
    route        TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       INTEGER,              -- NULL while the first request is answered
    response     TEXT,
    created_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (principal, key)
);
CREATE INDEX request_keys_created ON request_keys (created_at);

-- A declaration's Idempotency-Key covers its whole request: the hash of what
-- was declared, so the same key with another declaration is refused.
ALTER TABLE incidents ADD COLUMN request_hash TEXT NOT NULL DEFAULT '';

-- Which incident an alert's fingerprint belongs to while it is open, one row
-- per fingerprint, so concurrent notifications of one alert declare once.
-- generation counts the incidents the fingerprint has declared; the claim's
-- declaration uses it in its idempotency key.
CREATE TABLE alert_claims (
    source       TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    generation   BIGINT NOT NULL,
    incident_ref TEXT REFERENCES incidents (ref),  -- NULL while it is being declared
    claimed_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, fingerprint)
);
-- Fingerprints already tied to incidents keep them: each gets a claim on
-- the latest incident it declared or joined.
INSERT INTO alert_claims (source, fingerprint, generation, incident_ref, claimed_at)
SELECT a.source, a.fingerprint, 1, a.incident_ref, CURRENT_TIMESTAMP
FROM alerts a JOIN incidents i ON i.ref = a.incident_ref
WHERE i.number = (SELECT MAX(i2.number) FROM alerts a2 JOIN incidents i2 ON i2.ref = a2.incident_ref
                  WHERE a2.source = a.source AND a2.fingerprint = a.fingerprint);
