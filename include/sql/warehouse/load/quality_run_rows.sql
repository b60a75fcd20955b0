-- Warehouse gate: rows each loaded table holds stamped with one run.
SELECT 'core.golden_contacts' AS table_name, count(*) AS warehouse_rows
FROM core.golden_contacts WHERE loaded_run_id = :run_id
UNION ALL
SELECT 'core.contact_xref', count(*) FROM core.contact_xref WHERE loaded_run_id = :run_id
UNION ALL
SELECT 'core.interactions', count(*) FROM core.interactions WHERE loaded_run_id = :run_id;
