-- Issue 12: core.golden_conflicts holds each golden contact's current conflicts, one row per
-- (golden_id, attribute, chosen and other source and value, rule); it used to be a per-run log,
-- so a warehouse loaded before may hold the same conflict once per run. Keep the first recorded.
DELETE FROM core.golden_conflicts
WHERE rowid IN (
    SELECT rowid FROM (
        SELECT rowid, row_number() OVER (
            PARTITION BY golden_id, attribute, chosen_source, chosen_value, other_source, other_value, rule
            ORDER BY loaded_at, run_id
        ) AS n
        FROM core.golden_conflicts
    ) d
    WHERE n > 1
);
