-- Service cases / tickets of every source with their contact's golden id (via the xref; null when
-- unknown). One row per (source, source_id), upserted keeping the newest business timestamp.
CREATE TABLE IF NOT EXISTS core.cases (
    source TEXT NOT NULL,
    source_id TEXT NOT NULL,
    contact_source_id TEXT,
    subject TEXT,
    channel TEXT,
    status TEXT,
    priority TEXT,
    is_complaint BOOLEAN NOT NULL,
    is_closed BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    first_response_at TIMESTAMPTZ,
    closed_at TIMESTAMPTZ,
    source_updated_at TIMESTAMPTZ NOT NULL,
    is_deleted BOOLEAN NOT NULL,
    golden_id TEXT,
    loaded_run_id TEXT NOT NULL,
    loaded_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, source_id)
);
CREATE INDEX IF NOT EXISTS cases_golden_idx ON core.cases (golden_id);
CREATE TABLE IF NOT EXISTS staging.cases (
    source TEXT,
    source_id TEXT,
    contact_source_id TEXT,
    subject TEXT,
    channel TEXT,
    status TEXT,
    priority TEXT,
    is_complaint BOOLEAN,
    is_closed BOOLEAN,
    created_at TIMESTAMPTZ,
    first_response_at TIMESTAMPTZ,
    closed_at TIMESTAMPTZ,
    source_updated_at TIMESTAMPTZ,
    is_deleted BOOLEAN,
    golden_id TEXT
);
