-- Every decision ever taken (append-only history), newest first, with who and when.
SELECT decision_id, left_source, left_source_id, right_source, right_source_id, decision, restore_golden_id,
       decided_by, decided_at
FROM core.steward_decisions
ORDER BY decided_at DESC, decision_id DESC;
