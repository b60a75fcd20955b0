UPDATE core.golden_merge_log
SET undone = TRUE, undone_at = :undone_at, undone_by = :undone_by
WHERE merge_id = :merge_id AND NOT undone;
