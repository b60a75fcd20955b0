INSERT INTO audit.load_audit (run_id, stage, started_at, finished_at, status, row_counts, error)
VALUES (:run_id, :stage, :started_at, :finished_at, :status, :row_counts, :error);
