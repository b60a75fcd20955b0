-- One row per load attempt (successful or failed); the only table an identical rerun changes.
CREATE SEQUENCE IF NOT EXISTS audit.load_audit_seq;
CREATE TABLE IF NOT EXISTS audit.load_audit (
    audit_id BIGINT PRIMARY KEY DEFAULT nextval('audit.load_audit_seq'),
    run_id TEXT NOT NULL,
    stage TEXT NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ NOT NULL,
    status TEXT NOT NULL,
    row_counts TEXT,
    error TEXT
);
CREATE INDEX IF NOT EXISTS load_audit_run_idx ON audit.load_audit (run_id);
