INSERT INTO audit.writeback_attempts (run_id, kind, message_source, message_source_id, golden_id,
    target_source, target_record, write_key, status, reason, retryable, vendor_id, fields, attempted_at)
VALUES (:run_id, :kind, :message_source, :message_source_id, :golden_id, :target_source, :target_record,
    :write_key, :status, :reason, :retryable, :vendor_id, :fields, :attempted_at);
