-- An update's timeline events as its answer gives them are settled: the
-- run's recorder writes an event as a workflow task makes it, and a task
-- Temporal did not keep may have made it otherwise (updates taken in
-- another order), or made one of an update the run then refused. The API
-- writes the events of an update's answer, which only a task kept gives,
-- as settled; the recorder does not write over them. A refused update's
-- events are withdrawn: their rows go, and a row keyed by the update's
-- prefix, of kind 'withdrawn', keeps the recorder from writing them again.
ALTER TABLE timeline_events ADD COLUMN settled BOOLEAN NOT NULL DEFAULT FALSE;
