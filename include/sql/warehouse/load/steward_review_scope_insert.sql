-- The scope's pairs as this run found them.
INSERT INTO core.review_queue (
    run_id, left_source, left_source_id, left_golden_id, right_source, right_source_id,
    right_golden_id, score, reason, rule, explanation, loaded_at
)
SELECT :run_id, s.left_source, s.left_source_id, s.left_golden_id, s.right_source, s.right_source_id,
       s.right_golden_id, CAST(s.score AS DOUBLE PRECISION), s.reason, s.rule, s.explanation, :loaded_at
FROM staging.review_queue s;
