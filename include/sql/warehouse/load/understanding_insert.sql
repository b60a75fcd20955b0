INSERT INTO core.interaction_understanding (
    source, source_id, golden_id, occurred_at, channel, direction, language, intent, complaint,
    sentiment, explanation, model, kept, filter_rule, first_loaded_at, loaded_run_id, loaded_at
)
SELECT s.source, s.source_id, s.golden_id, s.occurred_at, s.channel, s.direction, s.language, s.intent,
       s.complaint, s.sentiment, s.explanation, s.model, s.kept, s.filter_rule, :loaded_at, :run_id, :loaded_at
FROM staging.interaction_understanding s
WHERE NOT EXISTS (
    SELECT 1 FROM core.interaction_understanding c WHERE c.source = s.source AND c.source_id = s.source_id
);
