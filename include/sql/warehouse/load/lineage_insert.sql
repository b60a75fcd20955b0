INSERT INTO core.golden_lineage (
    golden_id, attribute, source, source_id, source_updated_at, rule, loaded_run_id, loaded_at
)
SELECT s.golden_id, s.attribute, s.source, s.source_id, s.source_updated_at, s.rule,
       :run_id, :loaded_at
FROM staging.golden_lineage s
WHERE NOT EXISTS (
    SELECT 1 FROM core.golden_lineage c
    WHERE c.golden_id = s.golden_id AND c.attribute = s.attribute
);
