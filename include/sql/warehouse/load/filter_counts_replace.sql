-- The run's filter counts replace any earlier attempt of the same run id.
DELETE FROM audit.interaction_filter_counts WHERE run_id = :run_id;
INSERT INTO audit.interaction_filter_counts (run_id, rule, channel, messages, counted_at)
SELECT :run_id, s.rule, s.channel, s.messages, :loaded_at FROM staging.interaction_filter_counts s;
