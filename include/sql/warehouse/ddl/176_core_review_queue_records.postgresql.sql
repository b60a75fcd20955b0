-- Issue 17: an incremental run replaces the review pairs of its few thousand records; these let it
-- find them by record instead of scanning the whole queue (half a million pairs at 1M contacts).
CREATE INDEX IF NOT EXISTS review_queue_left_record ON core.review_queue (left_source, left_source_id);
CREATE INDEX IF NOT EXISTS review_queue_right_record ON core.review_queue (right_source, right_source_id);
