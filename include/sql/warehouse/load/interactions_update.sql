-- Upsert, part 1: rewrite known interactions only when something actually differs, so an
-- identical rerun touches nothing.
UPDATE core.interactions
SET contact_source_id = s.contact_source_id,
    occurred_at = s.occurred_at,
    channel = s.channel,
    direction = s.direction,
    interaction_type = s.interaction_type,
    text = s.text,
    campaign = s.campaign,
    thread_id = s.thread_id,
    golden_id = s.golden_id,
    loaded_run_id = :run_id,
    loaded_at = :loaded_at
FROM staging.interactions s
WHERE core.interactions.source = s.source
  AND core.interactions.source_id = s.source_id
  AND (core.interactions.contact_source_id IS DISTINCT FROM s.contact_source_id
       OR core.interactions.occurred_at IS DISTINCT FROM s.occurred_at
       OR core.interactions.channel IS DISTINCT FROM s.channel
       OR core.interactions.direction IS DISTINCT FROM s.direction
       OR core.interactions.interaction_type IS DISTINCT FROM s.interaction_type
       OR core.interactions.text IS DISTINCT FROM s.text
       OR core.interactions.campaign IS DISTINCT FROM s.campaign
       OR core.interactions.thread_id IS DISTINCT FROM s.thread_id
       OR core.interactions.golden_id IS DISTINCT FROM s.golden_id);
