-- Close the current link of every source record whose golden_id or match evidence changed.
UPDATE core.contact_xref
SET valid_to = :loaded_at, is_current = FALSE
FROM staging.contact_xref s
WHERE core.contact_xref.source = s.source
  AND core.contact_xref.source_id = s.source_id
  AND core.contact_xref.is_current
  AND (core.contact_xref.golden_id IS DISTINCT FROM s.golden_id
       OR core.contact_xref.match_rule IS DISTINCT FROM s.match_rule
       OR core.contact_xref.match_key IS DISTINCT FROM s.match_key);
