-- Alerts from Alertmanager and Grafana, each tied to the incident it declared
-- or joined: a firing alert whose fingerprint has an open incident joins it.
CREATE TABLE alerts (
    source       TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    incident_ref TEXT NOT NULL REFERENCES incidents (ref),
    alertname    TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL,
    starts_at    TIMESTAMP,
    updated_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (source, fingerprint, incident_ref)
);
CREATE INDEX alerts_incident ON alerts (incident_ref);
