-- Session-private landing table, so ingest tasks of different sources can land concurrently.
CREATE TEMP TABLE IF NOT EXISTS raw_landing (
    source TEXT,
    object_type TEXT,
    source_id TEXT,
    source_updated_at TIMESTAMPTZ,
    payload TEXT,
    payload_hash TEXT,
    run_id TEXT,
    extracted_at TIMESTAMPTZ
);
DELETE FROM raw_landing;
