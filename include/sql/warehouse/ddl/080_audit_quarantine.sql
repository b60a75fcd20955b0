-- Rows a quality gate held back (on_failure: quarantine), one per source record and failed rule.
-- Holds the row as JSON (personal data): like raw.*, never granted to BI roles.
-- run_id is the run that first quarantined the record, last_run_id the latest run it still failed
-- in; a run in which the record passes again marks the entry resolved (resolved_run_id).
CREATE TABLE IF NOT EXISTS audit.quarantine (
    source TEXT,
    source_id TEXT,
    stage TEXT NOT NULL,
    suite TEXT NOT NULL,
    expectation TEXT NOT NULL,
    reason TEXT NOT NULL,
    run_id TEXT NOT NULL,
    last_run_id TEXT NOT NULL,
    payload TEXT,
    quarantined_at TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    resolved BOOLEAN NOT NULL,
    resolved_at TIMESTAMPTZ,
    resolved_run_id TEXT
);
CREATE INDEX IF NOT EXISTS quarantine_open_idx ON audit.quarantine (stage, resolved);
CREATE INDEX IF NOT EXISTS quarantine_record_idx ON audit.quarantine (source, source_id);
CREATE TABLE IF NOT EXISTS staging.quarantine (
    source TEXT,
    source_id TEXT,
    stage TEXT,
    suite TEXT,
    expectation TEXT,
    reason TEXT,
    run_id TEXT,
    payload TEXT,
    quarantined_at TIMESTAMPTZ
);
