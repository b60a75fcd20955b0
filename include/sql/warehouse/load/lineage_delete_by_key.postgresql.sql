-- lineage_delete.sql for a small incremental handover on PostgreSQL: the lineage of each staged
-- golden ID is fetched by primary-key prefix (LATERAL ... OFFSET 0), and only those rows are
-- compared with the staged lineage, instead of anti-joining all of core.golden_lineage first;
-- the rows to delete are then found by primary key.
DELETE FROM core.golden_lineage
WHERE (golden_id, attribute) IN (
    SELECT t.golden_id, t.attribute
    FROM (
        SELECT golden_id FROM staging.golden_contacts
        UNION
        SELECT golden_id FROM staging.golden_lineage
    ) staged
    CROSS JOIN LATERAL (
        SELECT c.golden_id, c.attribute, c.source, c.source_id, c.source_updated_at, c.rule
        FROM core.golden_lineage c
        WHERE c.golden_id = staged.golden_id
        OFFSET 0
    ) t
    WHERE NOT EXISTS (
        SELECT 1 FROM staging.golden_lineage s
        WHERE s.golden_id = t.golden_id
          AND s.attribute = t.attribute
          AND s.source IS NOT DISTINCT FROM t.source
          AND s.source_id IS NOT DISTINCT FROM t.source_id
          AND s.source_updated_at IS NOT DISTINCT FROM t.source_updated_at
          AND s.rule IS NOT DISTINCT FROM t.rule
    )
);
