-- Routed messages not written back yet (crmhub.stages.writeback), with what a follow-up needs: the
-- person's current golden ID (the message's interaction may have moved to a merged golden record),
-- the message text, the source of the newest open deal (routing's owner belongs to that CRM) and the
-- golden social fields for enrichment. Done: a follow-up created or found, or a failure no retry can
-- fix (unless :retry_failed, after a steward fixed the cause).
WITH done AS (
    SELECT DISTINCT message_source, message_source_id
    FROM audit.writeback_attempts
    WHERE kind IN ('task', 'case')
      AND (status IN ('created', 'skipped_already_written')
           OR (status = 'failed' AND NOT retryable AND NOT :retry_failed))
),
deals AS (
    SELECT golden_id, source AS deal_source
    FROM (
        SELECT golden_id, source,
               row_number() OVER (
                   PARTITION BY golden_id ORDER BY created_at DESC NULLS LAST, source, source_id
               ) AS rn
        FROM core.opportunities
        WHERE golden_id IS NOT NULL AND NOT is_deleted AND NOT is_closed
    ) ranked
    WHERE rn = 1
),
todo AS (
    SELECT q.source, q.source_id, COALESCE(i.golden_id, q.golden_id) AS golden_id, q.occurred_at,
           q.channel, q.intent, q.department, q.rule, q.owner, q.priority, q.sla_hours, q.routed_at, i.text
    FROM core.routing_queue q
    LEFT JOIN core.interactions i ON i.source = q.source AND i.source_id = q.source_id
    WHERE NOT EXISTS (
        SELECT 1 FROM done WHERE done.message_source = q.source AND done.message_source_id = q.source_id
    )
)
SELECT t.source, t.source_id, t.golden_id, t.occurred_at, t.channel, t.intent, t.department, t.rule,
       t.owner, t.priority, t.sla_hours, t.routed_at, t.text, d.deal_source,
       g.social_network, g.social_handle, g.social_followers
FROM todo t
LEFT JOIN deals d ON d.golden_id = t.golden_id
LEFT JOIN core.golden_contacts g ON g.golden_id = t.golden_id AND g.is_current AND NOT g.is_deleted
ORDER BY t.routed_at, t.source, t.source_id;
