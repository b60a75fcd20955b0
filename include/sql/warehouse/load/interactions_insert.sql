-- Upsert, part 2: add interactions not seen before.
INSERT INTO core.interactions (
    source, source_id, contact_source_id, occurred_at, channel, direction, interaction_type,
    text, campaign, thread_id, golden_id, loaded_run_id, loaded_at
)
SELECT s.source, s.source_id, s.contact_source_id, s.occurred_at, s.channel, s.direction,
       s.interaction_type, s.text, s.campaign, s.thread_id, s.golden_id, :run_id, :loaded_at
FROM staging.interactions s
WHERE NOT EXISTS (
    SELECT 1 FROM core.interactions c WHERE c.source = s.source AND c.source_id = s.source_id
);
