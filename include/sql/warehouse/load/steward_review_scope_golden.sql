-- Kept pairs with one record in the scope: that record's golden ID as the run left it.
UPDATE core.review_queue SET left_golden_id = s.golden_id
FROM staging.review_scope s
WHERE s.source = core.review_queue.left_source AND s.source_id = core.review_queue.left_source_id
  AND s.golden_id IS NOT NULL AND core.review_queue.left_golden_id IS DISTINCT FROM s.golden_id;
UPDATE core.review_queue SET right_golden_id = s.golden_id
FROM staging.review_scope s
WHERE s.source = core.review_queue.right_source AND s.source_id = core.review_queue.right_source_id
  AND s.golden_id IS NOT NULL AND core.review_queue.right_golden_id IS DISTINCT FROM s.golden_id;
