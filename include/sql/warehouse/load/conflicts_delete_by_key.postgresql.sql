-- conflicts_delete.sql for a small incremental handover on PostgreSQL (issue 17): the conflicts of
-- each staged golden ID are fetched by index (LATERAL ... OFFSET 0), instead of scanning all of
-- core.golden_conflicts; only rows without an identical staged conflict are deleted, by row id.
DELETE FROM core.golden_conflicts
WHERE ctid IN (
    SELECT t.ctid
    FROM (
        SELECT golden_id FROM staging.golden_contacts
        UNION
        SELECT golden_id FROM staging.golden_conflicts
        UNION
        SELECT loser_golden_id FROM staging.golden_merges WHERE event = 'merge'
    ) staged
    CROSS JOIN LATERAL (
        SELECT c.ctid, c.golden_id, c.attribute, c.chosen_source, c.chosen_value, c.other_source,
               c.other_value, c.rule
        FROM core.golden_conflicts c
        WHERE c.golden_id = staged.golden_id
        OFFSET 0
    ) t
    WHERE NOT EXISTS (
        SELECT 1 FROM staging.golden_conflicts s
        WHERE s.golden_id = t.golden_id
          AND s.attribute = t.attribute
          AND s.chosen_source IS NOT DISTINCT FROM t.chosen_source
          AND s.chosen_value IS NOT DISTINCT FROM t.chosen_value
          AND s.other_source IS NOT DISTINCT FROM t.other_source
          AND s.other_value IS NOT DISTINCT FROM t.other_value
          AND s.rule IS NOT DISTINCT FROM t.rule
    )
);
