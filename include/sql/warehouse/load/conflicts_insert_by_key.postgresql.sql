-- conflicts_insert.sql for a small incremental handover on PostgreSQL (issue 17): whether core
-- already holds a staged conflict is asked per staged row by index on golden_id (LATERAL ... LIMIT
-- 1), instead of an anti-join that scans all of core.golden_conflicts.
INSERT INTO core.golden_conflicts (
    run_id, golden_id, attribute, chosen_source, chosen_value, other_source, other_value, rule,
    loaded_at
)
SELECT :run_id, s.golden_id, s.attribute, s.chosen_source, s.chosen_value, s.other_source,
       s.other_value, s.rule, :loaded_at
FROM (
    SELECT DISTINCT golden_id, attribute, chosen_source, chosen_value, other_source, other_value, rule
    FROM staging.golden_conflicts
) s
LEFT JOIN LATERAL (
    SELECT 1 AS found FROM core.golden_conflicts c
    WHERE c.golden_id = s.golden_id
      AND c.attribute = s.attribute
      AND c.chosen_source IS NOT DISTINCT FROM s.chosen_source
      AND c.chosen_value IS NOT DISTINCT FROM s.chosen_value
      AND c.other_source IS NOT DISTINCT FROM s.other_source
      AND c.other_value IS NOT DISTINCT FROM s.other_value
      AND c.rule IS NOT DISTINCT FROM s.rule
    LIMIT 1
) c ON TRUE
WHERE c.found IS NULL;
