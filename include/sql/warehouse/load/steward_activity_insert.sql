INSERT INTO audit.steward_activity (
    activity_id, occurred_at, actor, action, left_source, left_source_id, right_source, right_source_id, detail
)
VALUES (:activity_id, :occurred_at, :actor, :action, :left_source, :left_source_id, :right_source,
        :right_source_id, :detail)
ON CONFLICT (activity_id) DO NOTHING;
