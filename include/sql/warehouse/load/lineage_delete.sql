-- Replace lineage per golden_id (every golden_id in this load's golden or lineage frame),
-- deleting only rows that differ so an identical rerun touches nothing. The staged golden IDs
-- drive the join, so an incremental load reads only their lineage (by primary key), not all of it.
DELETE FROM core.golden_lineage
USING (
    SELECT golden_id FROM staging.golden_contacts
    UNION
    SELECT golden_id FROM staging.golden_lineage
) staged
WHERE core.golden_lineage.golden_id = staged.golden_id
  AND NOT EXISTS (
    SELECT 1 FROM staging.golden_lineage s
    WHERE s.golden_id = core.golden_lineage.golden_id
      AND s.attribute = core.golden_lineage.attribute
      AND s.source IS NOT DISTINCT FROM core.golden_lineage.source
      AND s.source_id IS NOT DISTINCT FROM core.golden_lineage.source_id
      AND s.source_updated_at IS NOT DISTINCT FROM core.golden_lineage.source_updated_at
      AND s.rule IS NOT DISTINCT FROM core.golden_lineage.rule
);
