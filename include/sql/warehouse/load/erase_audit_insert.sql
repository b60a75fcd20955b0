-- One row per erasure request: what kind of identifier, when, how many rows per table; no identifier.
INSERT INTO audit.erasure_log
    (erasure_id, run_id, identifier_kind, requested_at, finished_at, status, row_counts, vendor_requests)
VALUES (:erasure_id, :run_id, :identifier_kind, :requested_at, :finished_at, :status, :row_counts, :vendor_requests);
