-- The live CRM records of the people with routed messages (crmhub.stages.writeback picks the leading
-- one per person by include/config/writeback.yaml's target order): current, not deleted, not merged.
SELECT x.golden_id, x.source, x.source_id
FROM core.contact_xref x
WHERE x.is_current AND NOT COALESCE(x.is_deleted, FALSE) AND x.merged_into_source_id IS NULL
  AND x.golden_id IN (
      SELECT COALESCE(i.golden_id, q.golden_id)
      FROM core.routing_queue q
      LEFT JOIN core.interactions i ON i.source = q.source AND i.source_id = q.source_id
  )
ORDER BY x.golden_id, x.source, x.source_id;
