-- Who looked at and decided what in the steward review (issue 16, docs/reconcile.md "Steward review").
-- One row per action of a steward: viewing the queue or a pair (whose record values it shows), a
-- link/split/defer decision, a merge undo, a CSV import, or a refused request. Holds source record
-- ids, never record values.
CREATE TABLE IF NOT EXISTS audit.steward_activity (
    activity_id TEXT PRIMARY KEY,
    occurred_at TIMESTAMPTZ NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    left_source TEXT,
    left_source_id TEXT,
    right_source TEXT,
    right_source_id TEXT,
    detail TEXT
);
CREATE INDEX IF NOT EXISTS steward_activity_at_idx ON audit.steward_activity (occurred_at);
