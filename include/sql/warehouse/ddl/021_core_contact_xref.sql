-- Which source record belongs to which golden record, with history (load time validity,
-- since a match decision has no business timestamp of its own).
CREATE SEQUENCE IF NOT EXISTS core.contact_xref_sk_seq;
CREATE TABLE IF NOT EXISTS core.contact_xref (
    xref_sk BIGINT PRIMARY KEY DEFAULT nextval('core.contact_xref_sk_seq'),
    source TEXT NOT NULL,
    source_id TEXT NOT NULL,
    golden_id TEXT NOT NULL,
    match_rule TEXT,
    match_key TEXT,
    valid_from TIMESTAMPTZ NOT NULL,
    valid_to TIMESTAMPTZ,
    is_current BOOLEAN NOT NULL,
    loaded_run_id TEXT NOT NULL,
    loaded_at TIMESTAMPTZ NOT NULL,
    CHECK (valid_to IS NULL OR valid_to >= valid_from),
    CHECK (is_current = (valid_to IS NULL))
);
CREATE INDEX IF NOT EXISTS contact_xref_record_idx ON core.contact_xref (source, source_id);
CREATE INDEX IF NOT EXISTS contact_xref_golden_idx ON core.contact_xref (golden_id);
