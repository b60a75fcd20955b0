-- Golden IDs / source records of this load with more than one current version (must be none;
-- PostgreSQL's partial unique indexes also enforce it, DuckDB relies on this check).
SELECT count(*) AS violations FROM (
    SELECT golden_id FROM core.golden_contacts
    WHERE is_current AND golden_id IN (SELECT golden_id FROM staging.golden_contacts)
    GROUP BY golden_id HAVING count(*) > 1
    UNION ALL
    SELECT x.source_id FROM core.contact_xref x
    JOIN staging.contact_xref s ON s.source = x.source AND s.source_id = x.source_id
    WHERE x.is_current
    GROUP BY x.source, x.source_id HAVING count(*) > 1
) dup;
