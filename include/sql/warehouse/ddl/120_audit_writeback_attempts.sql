-- Write-back to the CRMs (issue 17, crmhub.stages.writeback): one row per attempt to write a follow-up
-- (task or case) for a routed message, or social fields on a CRM contact, with what the vendor did.
-- status: created | updated | skipped_already_written | skipped_by_precedence | failed | dry_run.
-- A message with a created/skipped_already_written row, or a failed one that is not retryable, is not
-- tried again (a steward fixes the cause and reruns with --retry-failed); a retryable failure is.
-- write_key is the idempotency key the vendor saw (external id, alternate key or task property).
-- Reasons carry the vendor's error codes, never a value.
CREATE SEQUENCE IF NOT EXISTS audit.writeback_attempts_seq;
CREATE TABLE IF NOT EXISTS audit.writeback_attempts (
    attempt_id BIGINT PRIMARY KEY DEFAULT nextval('audit.writeback_attempts_seq'),
    run_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    message_source TEXT,
    message_source_id TEXT,
    golden_id TEXT,
    target_source TEXT NOT NULL,
    target_record TEXT NOT NULL,
    write_key TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    retryable BOOLEAN NOT NULL,
    vendor_id TEXT,
    fields TEXT,
    attempted_at TIMESTAMPTZ NOT NULL,
    CHECK (status IN ('created', 'updated', 'skipped_already_written', 'skipped_by_precedence', 'failed', 'dry_run'))
);
CREATE INDEX IF NOT EXISTS writeback_attempts_message_idx ON audit.writeback_attempts (message_source, message_source_id);
CREATE INDEX IF NOT EXISTS writeback_attempts_key_idx ON audit.writeback_attempts (write_key);
