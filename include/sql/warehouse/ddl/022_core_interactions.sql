-- The customer history across channels: one row per source interaction, upserted.
CREATE TABLE IF NOT EXISTS core.interactions (
    source TEXT NOT NULL,
    source_id TEXT NOT NULL,
    contact_source_id TEXT,
    occurred_at TIMESTAMPTZ NOT NULL,
    channel TEXT,
    direction TEXT,
    interaction_type TEXT,
    text TEXT,
    campaign TEXT,
    thread_id TEXT,
    golden_id TEXT,
    loaded_run_id TEXT NOT NULL,
    loaded_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, source_id)
);
CREATE INDEX IF NOT EXISTS interactions_golden_idx ON core.interactions (golden_id);
