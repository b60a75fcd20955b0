-- Issue 17: every load routes the kept messages of known people that are not routed yet
-- (load/routing_candidates.sql), so it reads those rows of core.interaction_understanding on every
-- small run. This partial covering index holds exactly them, in the routing queue's key order: the
-- lookup is an index-only scan anti-joined with the queue's primary key instead of a scan of the
-- whole understanding table (its explanations make it ten times wider). DuckDB has no partial indexes
-- and scans its columns anyway.
CREATE INDEX IF NOT EXISTS interaction_understanding_routable
    ON core.interaction_understanding (source, source_id) INCLUDE (golden_id, occurred_at, channel, intent)
    WHERE kept AND golden_id IS NOT NULL;
