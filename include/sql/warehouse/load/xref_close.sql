-- Close the current link of every source record whose golden_id, match evidence or own state in
-- the source (deleted, merged into another record) changed.
UPDATE core.contact_xref
SET valid_to = :loaded_at, is_current = FALSE
FROM staging.contact_xref s
WHERE core.contact_xref.source = s.source
  AND core.contact_xref.source_id = s.source_id
  AND core.contact_xref.is_current
  AND (core.contact_xref.golden_id IS DISTINCT FROM s.golden_id
       OR core.contact_xref.match_rule IS DISTINCT FROM s.match_rule
       OR core.contact_xref.match_key IS DISTINCT FROM s.match_key
       OR COALESCE(core.contact_xref.is_deleted, FALSE) IS DISTINCT FROM COALESCE(s.is_deleted, FALSE)
       OR core.contact_xref.merged_into_source_id IS DISTINCT FROM s.merged_into_source_id);
