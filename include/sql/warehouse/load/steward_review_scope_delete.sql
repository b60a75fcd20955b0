-- Incremental reconcile run: the pairs with both records in the run's scope are re-derived by it.
-- A pair reaching outside the scope is kept: neither of its records changed, nor any block they share.
DELETE FROM core.review_queue
WHERE EXISTS (
    SELECT 1 FROM staging.review_scope s
    WHERE s.source = core.review_queue.left_source AND s.source_id = core.review_queue.left_source_id
)
AND EXISTS (
    SELECT 1 FROM staging.review_scope s
    WHERE s.source = core.review_queue.right_source AND s.source_id = core.review_queue.right_source_id
);
