-- Warehouse gate: what the successful loads of one run say they wrote (JSON row counts).
SELECT row_counts FROM audit.load_audit
WHERE run_id = :run_id AND stage = 'load_reconciled' AND status = 'success';
