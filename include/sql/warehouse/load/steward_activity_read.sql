SELECT occurred_at, actor, action, left_source, left_source_id, right_source, right_source_id, detail
FROM audit.steward_activity
ORDER BY occurred_at DESC, activity_id DESC
LIMIT :limit_rows;
