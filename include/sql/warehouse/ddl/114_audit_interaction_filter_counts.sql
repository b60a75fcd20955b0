-- Interaction filter counts (issue 14, include/config/interactions.yaml): per reconcile run, how many
-- messages each rule left out of core.interactions, per channel. Like audit.load_audit it is a run
-- log (one set of rows per run id; a rerun under the same run id replaces its rows). The messages
-- themselves stay in raw.payloads; the inbound social ones are in core.interaction_understanding.
CREATE TABLE IF NOT EXISTS audit.interaction_filter_counts (
    run_id TEXT NOT NULL,
    rule TEXT NOT NULL,
    channel TEXT NOT NULL,
    messages BIGINT NOT NULL,
    counted_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_id, rule, channel)
);
CREATE TABLE IF NOT EXISTS staging.interaction_filter_counts (
    rule TEXT,
    channel TEXT,
    messages BIGINT
);
