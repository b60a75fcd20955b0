-- The follow-up queue of each department (issue 14, include/config/routing.yaml): every routed social
-- message (core.routing_queue) with its age and SLA. answered_at is the brand's first outbound message
-- in the same thread (source, thread_id of core.interactions) after the message; a message is open
-- until then. age_hours and is_overdue are measured against the time the view is read (open
-- messages) or the answer (answered ones). due_at = occurred_at + sla_hours.
CREATE OR REPLACE VIEW mart.routing_queue AS
WITH answers AS (
    SELECT q.source, q.source_id, min(o.occurred_at) AS answered_at
    FROM core.routing_queue q
    JOIN core.interactions i ON i.source = q.source AND i.source_id = q.source_id
    JOIN core.interactions o
        ON o.source = i.source AND o.thread_id = i.thread_id AND o.direction = 'outbound'
       AND o.occurred_at >= i.occurred_at
    GROUP BY q.source, q.source_id
)
SELECT q.department,
       q.priority,
       q.owner,
       q.source,
       q.source_id,
       q.golden_id,
       q.channel,
       q.intent,
       q.rule,
       q.occurred_at,
       q.routed_at,
       q.sla_hours,
       q.occurred_at + q.sla_hours * INTERVAL '1 hour' AS due_at,
       a.answered_at,
       a.answered_at IS NULL AS is_open,
       CAST(extract(epoch FROM (COALESCE(a.answered_at, current_timestamp) - q.occurred_at)) AS DOUBLE PRECISION)
           / 3600.0 AS age_hours,
       COALESCE(a.answered_at, current_timestamp) > q.occurred_at + q.sla_hours * INTERVAL '1 hour' AS is_overdue,
       substr(i.text, 1, 280) AS summary
FROM core.routing_queue q
LEFT JOIN answers a ON a.source = q.source AND a.source_id = q.source_id
LEFT JOIN core.interactions i ON i.source = q.source AND i.source_id = q.source_id
LEFT JOIN core.golden_contacts g ON g.golden_id = q.golden_id AND g.is_current
WHERE g.golden_id IS NULL OR NOT g.is_deleted;
COMMENT ON VIEW mart.routing_queue IS 'Follow-up queue per department (service, sales, marketing): each routed inbound social message with owner, priority, SLA, age and whether the brand has answered it. Open work: WHERE is_open ORDER BY department, is_overdue DESC, due_at.';
COMMENT ON COLUMN mart.routing_queue.department IS 'service, sales or marketing, by the first matching rule of include/config/routing.yaml.';
COMMENT ON COLUMN mart.routing_queue.priority IS 'Priority level from the person''s followers (social value), won amounts (customer value) and intent (routing.yaml priority).';
COMMENT ON COLUMN mart.routing_queue.owner IS 'Who in the department owns it: the owner of the person''s newest open deal for rules with assign: deal_owner (from the CRM''s raw deal); null otherwise.';
COMMENT ON COLUMN mart.routing_queue.source IS 'Source system of the message (sprout, hootsuite, ...).';
COMMENT ON COLUMN mart.routing_queue.source_id IS 'Id of the message in that source (core.interactions).';
COMMENT ON COLUMN mart.routing_queue.golden_id IS 'The person who sent it (mart.customer_360.golden_id).';
COMMENT ON COLUMN mart.routing_queue.channel IS 'Social channel (twitter, facebook, instagram, linkedin).';
COMMENT ON COLUMN mart.routing_queue.intent IS 'Intent message understanding gave it: complaint, service_question, sales_lead, praise or other.';
COMMENT ON COLUMN mart.routing_queue.rule IS 'Name of the routing rule that matched (complaint, open_case, open_deal, ...).';
COMMENT ON COLUMN mart.routing_queue.occurred_at IS 'When (UTC) the person posted it.';
COMMENT ON COLUMN mart.routing_queue.routed_at IS 'When (UTC) the hub routed it (the load that first saw it).';
COMMENT ON COLUMN mart.routing_queue.sla_hours IS 'Hours the department has to answer (routing.yaml sla_hours for department and priority).';
COMMENT ON COLUMN mart.routing_queue.due_at IS 'occurred_at + sla_hours: when the answer is due.';
COMMENT ON COLUMN mart.routing_queue.answered_at IS 'When (UTC) the brand first replied in the thread after the message; null while open.';
COMMENT ON COLUMN mart.routing_queue.is_open IS 'True while the brand has not replied in the thread.';
COMMENT ON COLUMN mart.routing_queue.age_hours IS 'Hours from the message to the answer, or to now while open.';
COMMENT ON COLUMN mart.routing_queue.is_overdue IS 'Answered after due_at, or still open past due_at.';
COMMENT ON COLUMN mart.routing_queue.summary IS 'First 280 characters of the message text.';
