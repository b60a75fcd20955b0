-- Steward review (issue 4, docs/reconcile.md): the current review queue, the decisions stewards
-- took (applied by every following reconcile run), and the log of golden-record merges (undoable).
CREATE TABLE IF NOT EXISTS core.review_queue (
    run_id TEXT NOT NULL,
    left_source TEXT NOT NULL,
    left_source_id TEXT NOT NULL,
    left_golden_id TEXT,
    right_source TEXT NOT NULL,
    right_source_id TEXT NOT NULL,
    right_golden_id TEXT,
    score DOUBLE PRECISION,
    reason TEXT,
    rule TEXT,
    explanation TEXT,
    loaded_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS core.steward_decisions (
    decision_id TEXT PRIMARY KEY,
    left_source TEXT NOT NULL,
    left_source_id TEXT NOT NULL,
    right_source TEXT NOT NULL,
    right_source_id TEXT NOT NULL,
    decision TEXT NOT NULL,
    restore_golden_id TEXT,
    decided_by TEXT NOT NULL,
    decided_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS core.golden_merge_log (
    merge_id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    winner_golden_id TEXT NOT NULL,
    loser_golden_id TEXT NOT NULL,
    rule TEXT,
    records TEXT,
    loser_records TEXT,
    merged_at TIMESTAMPTZ NOT NULL,
    undone BOOLEAN NOT NULL,
    undone_at TIMESTAMPTZ,
    undone_by TEXT
);
CREATE TABLE IF NOT EXISTS staging.review_queue (
    left_source TEXT,
    left_source_id TEXT,
    left_golden_id TEXT,
    right_source TEXT,
    right_source_id TEXT,
    right_golden_id TEXT,
    score TEXT,
    reason TEXT,
    rule TEXT,
    explanation TEXT
);
CREATE TABLE IF NOT EXISTS staging.merge_log (
    merge_id TEXT,
    winner_golden_id TEXT,
    loser_golden_id TEXT,
    rule TEXT,
    records TEXT,
    loser_records TEXT
);
