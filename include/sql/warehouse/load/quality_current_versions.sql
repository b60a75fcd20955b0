-- Warehouse gate: current versions per golden contact (must be exactly one).
SELECT golden_id, CAST(sum(CASE WHEN is_current THEN 1 ELSE 0 END) AS BIGINT) AS current_versions
FROM core.golden_contacts
GROUP BY golden_id;
