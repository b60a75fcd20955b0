-- Sales opportunities of every source with the golden id of their primary contact (via the xref;
-- null when the opportunity has no contact or the contact is unknown). One row per
-- (source, source_id), upserted keeping the newest business timestamp; deletes are soft.
CREATE TABLE IF NOT EXISTS core.opportunities (
    source TEXT NOT NULL,
    source_id TEXT NOT NULL,
    contact_source_id TEXT,
    name TEXT,
    stage TEXT,
    amount DOUBLE PRECISION,
    currency TEXT,
    is_closed BOOLEAN NOT NULL,
    is_won BOOLEAN NOT NULL,
    lead_source TEXT,
    campaign_source_id TEXT,
    created_at TIMESTAMPTZ,
    closed_at TIMESTAMPTZ,
    source_updated_at TIMESTAMPTZ NOT NULL,
    is_deleted BOOLEAN NOT NULL,
    golden_id TEXT,
    loaded_run_id TEXT NOT NULL,
    loaded_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, source_id)
);
CREATE INDEX IF NOT EXISTS opportunities_golden_idx ON core.opportunities (golden_id);
CREATE TABLE IF NOT EXISTS staging.opportunities (
    source TEXT,
    source_id TEXT,
    contact_source_id TEXT,
    name TEXT,
    stage TEXT,
    amount DOUBLE PRECISION,
    currency TEXT,
    is_closed BOOLEAN,
    is_won BOOLEAN,
    lead_source TEXT,
    campaign_source_id TEXT,
    created_at TIMESTAMPTZ,
    closed_at TIMESTAMPTZ,
    source_updated_at TIMESTAMPTZ,
    is_deleted BOOLEAN,
    golden_id TEXT
);
