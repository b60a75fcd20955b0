-- Quarantine entries, newest first; :resolved is 'open', 'resolved' or 'all'.
SELECT source, source_id, stage, suite, expectation, reason, run_id, last_run_id, payload,
       quarantined_at, last_seen_at, resolved, resolved_at, resolved_run_id
FROM audit.quarantine
WHERE :resolved = 'all' OR (:resolved = 'open' AND NOT resolved) OR (:resolved = 'resolved' AND resolved)
ORDER BY quarantined_at DESC, stage, source, source_id, expectation;
