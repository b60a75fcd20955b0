-- Issue 17: an incremental reconcile run re-derives the review pairs of its scope only; the records of
-- that scope, with their golden IDs after the run, tell the load which pairs to replace
-- (load/steward_review_scope_*.sql).
CREATE TABLE IF NOT EXISTS staging.review_scope (
    source TEXT,
    source_id TEXT,
    golden_id TEXT
);
