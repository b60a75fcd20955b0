-- Record each staged conflict that core does not hold yet (once, however often it is staged).
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
WHERE NOT EXISTS (
    SELECT 1 FROM core.golden_conflicts c
    WHERE c.golden_id = s.golden_id
      AND c.attribute = s.attribute
      AND c.chosen_source IS NOT DISTINCT FROM s.chosen_source
      AND c.chosen_value IS NOT DISTINCT FROM s.chosen_value
      AND c.other_source IS NOT DISTINCT FROM s.other_source
      AND c.other_value IS NOT DISTINCT FROM s.other_value
      AND c.rule IS NOT DISTINCT FROM s.rule
);
