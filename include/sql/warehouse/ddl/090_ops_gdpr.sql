-- GDPR operations: the suppression list that keeps erased people from coming back with the next
-- ingest, and the erasure audit trail. Neither holds personal data in clear: suppression keys are
-- keyed hashes (HMAC-SHA256, key outside the warehouse) and the audit row holds counts only.
CREATE SCHEMA IF NOT EXISTS ops;
CREATE TABLE IF NOT EXISTS ops.suppression (
    key_hash TEXT PRIMARY KEY,
    key_kind TEXT NOT NULL,
    erasure_id TEXT NOT NULL,
    added_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS audit.erasure_log (
    erasure_id TEXT PRIMARY KEY,
    run_id TEXT,
    identifier_kind TEXT NOT NULL,
    requested_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ NOT NULL,
    status TEXT NOT NULL,
    row_counts TEXT,
    vendor_requests TEXT
);
