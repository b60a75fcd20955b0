-- Issue 12: the loader takes every golden event reconcile logs (crmhub.reconcile.golden_ids), not
-- only merges. `event` is 'merge' (winner = into, loser = from: the loser's version closes) or
-- 'split' (winner = the golden ID that stays, loser = the new golden ID the records split off to).
ALTER TABLE staging.golden_merges ADD COLUMN IF NOT EXISTS event TEXT;
ALTER TABLE staging.merge_log ADD COLUMN IF NOT EXISTS event TEXT;
ALTER TABLE core.golden_merge_log ADD COLUMN IF NOT EXISTS event TEXT;
UPDATE core.golden_merge_log SET event = 'merge' WHERE event IS NULL;
-- The staged golden contacts set aside while a split's first pass runs (load/golden_split_park.sql).
CREATE TABLE IF NOT EXISTS staging.golden_parked (
    golden_id TEXT,
    first_name TEXT,
    name_prefix TEXT,
    last_name TEXT,
    email TEXT,
    phone TEXT,
    street TEXT,
    house_number TEXT,
    house_number_addition TEXT,
    postcode TEXT,
    city TEXT,
    country TEXT,
    social_network TEXT,
    social_handle TEXT,
    company TEXT,
    source_updated_at TIMESTAMPTZ,
    is_deleted BOOLEAN,
    change_hash TEXT,
    social_followers DOUBLE PRECISION
);
