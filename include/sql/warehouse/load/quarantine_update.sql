-- A record still failing the same rule: refresh its open entry instead of adding another.
UPDATE audit.quarantine
SET last_run_id = s.run_id,
    last_seen_at = s.quarantined_at,
    suite = s.suite,
    reason = s.reason,
    payload = s.payload
FROM staging.quarantine s
WHERE NOT audit.quarantine.resolved
  AND audit.quarantine.stage = s.stage
  AND audit.quarantine.expectation = s.expectation
  AND audit.quarantine.source IS NOT DISTINCT FROM s.source
  AND audit.quarantine.source_id IS NOT DISTINCT FROM s.source_id;
