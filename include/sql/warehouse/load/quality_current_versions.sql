-- Warehouse gate: current versions per golden contact (must be exactly one). A golden ID merged
-- into another (its last version names the winner) has none and is left out.
SELECT golden_id, CAST(sum(CASE WHEN is_current THEN 1 ELSE 0 END) AS BIGINT) AS current_versions
FROM core.golden_contacts
GROUP BY golden_id
HAVING sum(CASE WHEN is_current THEN 1 ELSE 0 END) > 0
    OR max(CASE WHEN merged_into_golden_id IS NOT NULL THEN 1 ELSE 0 END) = 0;
