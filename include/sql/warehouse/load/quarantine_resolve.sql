-- After a successful load: open entries of a re-validated stage that this run did not quarantine
-- again passed the gate (every run re-derives every record from raw) and were loaded.
UPDATE audit.quarantine
SET resolved = TRUE,
    resolved_at = :resolved_at,
    resolved_run_id = :run_id
WHERE NOT resolved
  AND stage = :stage
  AND last_run_id <> :run_id;
