-- Warehouse gate: per kind (opportunity, case) every golden_id the records reference, and whether that
-- contact exists; records whose contact the source did not name (or the hub does not know) form the row
-- with golden_id NULL (linked = false). Deleted records are history and are not checked.
SELECT r.kind,
       r.golden_id,
       count(*) AS records,
       r.golden_id IS NOT NULL AS linked,
       (r.golden_id IS NULL OR max(CASE WHEN g.golden_id IS NULL THEN 0 ELSE 1 END) = 1) AS contact_exists
FROM (
    SELECT 'opportunity' AS kind, golden_id FROM core.opportunities WHERE NOT is_deleted
    UNION ALL
    SELECT 'case' AS kind, golden_id FROM core.cases WHERE NOT is_deleted
) r
LEFT JOIN (SELECT DISTINCT golden_id FROM core.golden_contacts) g ON g.golden_id = r.golden_id
GROUP BY r.kind, r.golden_id;
