INSERT INTO core.routing_queue (
    source, source_id, golden_id, occurred_at, channel, intent, department, rule, owner, priority,
    sla_hours, routed_at, loaded_run_id, loaded_at
)
SELECT s.source, s.source_id, s.golden_id, s.occurred_at, s.channel, s.intent, s.department, s.rule,
       s.owner, s.priority, s.sla_hours, :loaded_at, :run_id, :loaded_at
FROM staging.routing_queue s
WHERE NOT EXISTS (
    SELECT 1 FROM core.routing_queue q WHERE q.source = s.source AND q.source_id = s.source_id
);
