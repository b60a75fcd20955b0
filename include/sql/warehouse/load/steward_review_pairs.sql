-- The review queue with the run that wrote it (whose run folder holds the records' canonical values).
SELECT run_id, loaded_at, left_source, left_source_id, left_golden_id, right_source, right_source_id,
       right_golden_id, score, reason, rule, explanation
FROM core.review_queue
ORDER BY score DESC, left_source, left_source_id, right_source, right_source_id;
