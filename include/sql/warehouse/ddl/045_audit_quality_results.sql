-- One row per expectation per validated stage per run: what passed, what failed and how much.
-- Never cell values (observed_value is a count or a ratio), so the table holds no personal data.
CREATE TABLE IF NOT EXISTS audit.quality_results (
    run_id TEXT NOT NULL,
    stage TEXT NOT NULL,
    suite TEXT NOT NULL,
    expectation TEXT NOT NULL,
    column_name TEXT,
    severity TEXT NOT NULL,
    success BOOLEAN NOT NULL,
    observed_value TEXT,
    unexpected_count BIGINT,
    element_count BIGINT,
    validated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS quality_results_run_idx ON audit.quality_results (run_id, stage);
CREATE TABLE IF NOT EXISTS staging.quality_results (
    run_id TEXT,
    stage TEXT,
    suite TEXT,
    expectation TEXT,
    column_name TEXT,
    severity TEXT,
    success BOOLEAN,
    observed_value TEXT,
    unexpected_count BIGINT,
    element_count BIGINT,
    validated_at TIMESTAMPTZ
);
