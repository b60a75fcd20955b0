-- Planner settings for this load's transaction only (SET LOCAL ends at commit/rollback).
-- Core tables and their indexes are hot in memory during a load, so an index probe costs little
-- more than a sequential read: with the default random_page_cost (4, for spinning disks) the planner
-- scans all of core.contact_xref to check a few thousand changed records, and the cost of an
-- incremental load grows with the history instead of the change.
SET LOCAL random_page_cost = 1.1;
-- Room for the full load's sorts and hashes to stay in memory instead of spilling to disk.
SET LOCAL work_mem = '64MB';
-- No JIT: the load's statements are estimated expensive (core is large), so PostgreSQL would
-- JIT-compile each one for 100-200 ms, more than a small incremental load's statement runs.
SET LOCAL jit = off;
