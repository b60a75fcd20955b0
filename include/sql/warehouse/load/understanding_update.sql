-- Rewrite a message's understanding only when it or the filter decision changed (identical reruns
-- touch nothing); first_loaded_at stays.
UPDATE core.interaction_understanding
SET golden_id = s.golden_id,
    occurred_at = s.occurred_at,
    channel = s.channel,
    direction = s.direction,
    language = s.language,
    intent = s.intent,
    complaint = s.complaint,
    sentiment = s.sentiment,
    explanation = s.explanation,
    model = s.model,
    kept = s.kept,
    filter_rule = s.filter_rule,
    loaded_run_id = :run_id,
    loaded_at = :loaded_at
FROM staging.interaction_understanding s
WHERE core.interaction_understanding.source = s.source
  AND core.interaction_understanding.source_id = s.source_id
  AND (core.interaction_understanding.golden_id IS DISTINCT FROM s.golden_id
       OR core.interaction_understanding.occurred_at IS DISTINCT FROM s.occurred_at
       OR core.interaction_understanding.channel IS DISTINCT FROM s.channel
       OR core.interaction_understanding.direction IS DISTINCT FROM s.direction
       OR core.interaction_understanding.language IS DISTINCT FROM s.language
       OR core.interaction_understanding.intent IS DISTINCT FROM s.intent
       OR core.interaction_understanding.complaint IS DISTINCT FROM s.complaint
       OR core.interaction_understanding.sentiment IS DISTINCT FROM s.sentiment
       OR core.interaction_understanding.explanation IS DISTINCT FROM s.explanation
       OR core.interaction_understanding.model IS DISTINCT FROM s.model
       OR core.interaction_understanding.kept IS DISTINCT FROM s.kept
       OR core.interaction_understanding.filter_rule IS DISTINCT FROM s.filter_rule);
