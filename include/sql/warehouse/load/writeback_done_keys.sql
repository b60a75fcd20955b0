-- Contact-field writes already settled (crmhub.stages.writeback): their key is not sent again.
SELECT DISTINCT write_key
FROM audit.writeback_attempts
WHERE kind = 'contact_fields'
  AND (status IN ('updated', 'skipped_already_written', 'skipped_by_precedence')
       OR (status = 'failed' AND NOT retryable AND NOT :retry_failed));
