-- The run numbers its timeline events (its own count, carried across
-- continue-as-new): events of one instant are listed in the run's order,
-- not in the order their rows first arrived, which a workflow task that
-- Temporal did not keep may have decided.
ALTER TABLE timeline_events ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
