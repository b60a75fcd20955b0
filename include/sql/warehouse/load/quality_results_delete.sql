-- A re-validated run replaces its own results for the stage, so reruns do not pile up rows.
DELETE FROM audit.quality_results
WHERE (run_id, stage) IN (SELECT DISTINCT run_id, stage FROM staging.quality_results);
