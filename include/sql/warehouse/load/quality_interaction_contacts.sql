-- Warehouse gate: every golden_id the history references, and whether that contact exists.
SELECT i.golden_id, count(*) AS interactions, max(CASE WHEN g.golden_id IS NULL THEN 0 ELSE 1 END) = 1 AS contact_exists
FROM core.interactions i
LEFT JOIN (SELECT DISTINCT golden_id FROM core.golden_contacts) g ON g.golden_id = i.golden_id
GROUP BY i.golden_id;
