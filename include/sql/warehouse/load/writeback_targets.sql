-- The live CRM records of the people with routed messages not written back yet (same "done" rule as
-- writeback_todo.sql); crmhub.stages.writeback picks the leading one per person by
-- include/config/writeback.yaml's target order: current, not deleted, not merged away.
WITH done AS (
    SELECT DISTINCT message_source, message_source_id
    FROM audit.writeback_attempts
    WHERE kind IN ('task', 'case')
      AND (status IN ('created', 'skipped_already_written')
           OR (status = 'failed' AND NOT retryable AND NOT :retry_failed))
),
people AS (
    SELECT DISTINCT COALESCE(i.golden_id, q.golden_id) AS golden_id
    FROM core.routing_queue q
    LEFT JOIN core.interactions i ON i.source = q.source AND i.source_id = q.source_id
    WHERE NOT EXISTS (
        SELECT 1 FROM done WHERE done.message_source = q.source AND done.message_source_id = q.source_id
    )
)
SELECT x.golden_id, x.source, x.source_id
FROM core.contact_xref x
JOIN people p ON p.golden_id = x.golden_id
WHERE x.is_current AND NOT COALESCE(x.is_deleted, FALSE) AND x.merged_into_source_id IS NULL
ORDER BY x.golden_id, x.source, x.source_id;
