-- The latest successful reconcile load and whether a GDPR erasure ran after it: incremental
-- handovers (crmhub.warehouse.delta) trust their fingerprints only for this load.
SELECT a.audit_id, a.started_at,
       (SELECT count(*) FROM audit.erasure_log e WHERE e.finished_at >= a.started_at) AS erasures_since
FROM audit.load_audit a
WHERE a.stage = 'load_reconciled' AND a.status = 'success'
ORDER BY a.audit_id DESC
LIMIT 1;
