INSERT INTO core.contact_xref (
    source, source_id, golden_id, match_rule, match_key, valid_from, valid_to, is_current,
    loaded_run_id, loaded_at, is_deleted, merged_into_source_id
)
SELECT s.source, s.source_id, s.golden_id, s.match_rule, s.match_key, :loaded_at, NULL, TRUE,
       :run_id, :loaded_at, COALESCE(s.is_deleted, FALSE), s.merged_into_source_id
FROM staging.contact_xref s
WHERE NOT EXISTS (
    SELECT 1 FROM core.contact_xref c
    WHERE c.source = s.source AND c.source_id = s.source_id AND c.is_current
);
