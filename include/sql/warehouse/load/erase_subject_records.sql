-- Source records ever linked to a golden ID (closed xref versions included).
SELECT DISTINCT source, source_id
FROM core.contact_xref
WHERE golden_id = :golden_id;
