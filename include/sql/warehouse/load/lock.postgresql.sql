-- Serialise loads/migrations across processes: staging tables are shared, and concurrent
-- CREATE ... IF NOT EXISTS can race in PostgreSQL. Released at commit/rollback.
SELECT pg_advisory_xact_lock(hashtext(:lock_name));
