-- Marketing campaigns of every source, one row per (source, source_id), upserted keeping the
-- version with the newest business timestamp. Deleted campaigns stay with is_deleted true.
CREATE TABLE IF NOT EXISTS core.campaigns (
    source TEXT NOT NULL,
    source_id TEXT NOT NULL,
    name TEXT NOT NULL,
    channel TEXT,
    status TEXT,
    started_at TIMESTAMPTZ,
    ended_at TIMESTAMPTZ,
    source_updated_at TIMESTAMPTZ NOT NULL,
    is_deleted BOOLEAN NOT NULL,
    loaded_run_id TEXT NOT NULL,
    loaded_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, source_id)
);
CREATE TABLE IF NOT EXISTS staging.campaigns (
    source TEXT,
    source_id TEXT,
    name TEXT,
    channel TEXT,
    status TEXT,
    started_at TIMESTAMPTZ,
    ended_at TIMESTAMPTZ,
    source_updated_at TIMESTAMPTZ,
    is_deleted BOOLEAN
);
