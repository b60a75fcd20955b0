-- Newly failing records (or ones that failed, were resolved and fail again) get a new open entry.
INSERT INTO audit.quarantine (
    source, source_id, stage, suite, expectation, reason, run_id, last_run_id, payload,
    quarantined_at, last_seen_at, resolved, resolved_at, resolved_run_id
)
SELECT s.source, s.source_id, s.stage, s.suite, s.expectation, s.reason, s.run_id, s.run_id,
       s.payload, s.quarantined_at, s.quarantined_at, FALSE, NULL, NULL
FROM staging.quarantine s
WHERE NOT EXISTS (
    SELECT 1 FROM audit.quarantine q
    WHERE NOT q.resolved
      AND q.stage = s.stage
      AND q.expectation = s.expectation
      AND q.source IS NOT DISTINCT FROM s.source
      AND q.source_id IS NOT DISTINCT FROM s.source_id
);
