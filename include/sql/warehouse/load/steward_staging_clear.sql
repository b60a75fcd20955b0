DELETE FROM staging.review_queue;
DELETE FROM staging.merge_log;
DELETE FROM staging.review_scope;
