-- One row per source record as extracted, never updated or deleted by a load.
-- The unique key makes re-landing the same record a no-op.
CREATE TABLE IF NOT EXISTS raw.payloads (
    source TEXT NOT NULL,
    object_type TEXT NOT NULL,
    source_id TEXT NOT NULL,
    source_updated_at TIMESTAMPTZ,
    payload TEXT NOT NULL,
    payload_hash TEXT NOT NULL,
    run_id TEXT NOT NULL,
    extracted_at TIMESTAMPTZ NOT NULL,
    UNIQUE (source, object_type, payload_hash)
);
CREATE INDEX IF NOT EXISTS payloads_latest_idx ON raw.payloads (source, object_type, source_id);
