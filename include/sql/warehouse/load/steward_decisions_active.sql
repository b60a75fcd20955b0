-- The latest decision per record pair (either order) is the one in force.
SELECT left_source, left_source_id, right_source, right_source_id, decision, restore_golden_id
FROM (
    SELECT d.*,
           ROW_NUMBER() OVER (
               PARTITION BY
                   CASE WHEN left_source || chr(31) || left_source_id <= right_source || chr(31) || right_source_id
                        THEN left_source || chr(31) || left_source_id || chr(30) || right_source || chr(31) || right_source_id
                        ELSE right_source || chr(31) || right_source_id || chr(30) || left_source || chr(31) || left_source_id
                   END
               ORDER BY decided_at DESC, decision_id DESC
           ) AS rn
    FROM core.steward_decisions d
) latest
WHERE rn = 1
ORDER BY left_source, left_source_id, right_source, right_source_id;
