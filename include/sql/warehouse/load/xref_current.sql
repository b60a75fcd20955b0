SELECT source, source_id, golden_id, match_rule, match_key
FROM core.contact_xref
WHERE is_current
ORDER BY source, source_id;
