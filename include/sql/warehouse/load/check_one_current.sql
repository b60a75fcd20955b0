-- Keys of this load that do not have exactly one current version (must be none): staged golden
-- IDs with zero or several current rows, golden IDs anywhere with several (a merged-away golden ID
-- has none), source records with several current links. PostgreSQL's partial unique indexes also
-- enforce "at most one"; DuckDB relies on this check.
SELECT count(*) AS violations FROM (
    SELECT s.golden_id FROM staging.golden_contacts s
    LEFT JOIN core.golden_contacts c ON c.golden_id = s.golden_id AND c.is_current
    GROUP BY s.golden_id HAVING count(c.golden_id) <> 1
    UNION ALL
    SELECT golden_id FROM core.golden_contacts
    WHERE is_current AND golden_id IN (SELECT loser_golden_id FROM staging.golden_merges WHERE event = 'merge')
    GROUP BY golden_id HAVING count(*) > 1
    UNION ALL
    SELECT x.source_id FROM core.contact_xref x
    JOIN staging.contact_xref s ON s.source = x.source AND s.source_id = x.source_id
    WHERE x.is_current
    GROUP BY x.source, x.source_id HAVING count(*) > 1
) dup;
