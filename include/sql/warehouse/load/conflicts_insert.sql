INSERT INTO core.golden_conflicts (
    run_id, golden_id, attribute, chosen_source, chosen_value, other_source, other_value, rule,
    loaded_at
)
SELECT :run_id, s.golden_id, s.attribute, s.chosen_source, s.chosen_value, s.other_source,
       s.other_value, s.rule, :loaded_at
FROM staging.golden_conflicts s;
