-- Issue 5: golden contacts carry the social value (highest follower count among their social
-- profiles) and, on the version that closed because the record was merged into another golden
-- record, the winner's golden id. Source records in the xref carry their own deleted flag and the
-- record the source merged them into, so the xref history shows source-side deletes and merges.
ALTER TABLE core.golden_contacts ADD COLUMN IF NOT EXISTS social_followers DOUBLE PRECISION;
ALTER TABLE core.golden_contacts ADD COLUMN IF NOT EXISTS merged_into_golden_id TEXT;
ALTER TABLE staging.golden_contacts ADD COLUMN IF NOT EXISTS social_followers DOUBLE PRECISION;
ALTER TABLE core.contact_xref ADD COLUMN IF NOT EXISTS is_deleted BOOLEAN;
ALTER TABLE core.contact_xref ADD COLUMN IF NOT EXISTS merged_into_source_id TEXT;
ALTER TABLE staging.contact_xref ADD COLUMN IF NOT EXISTS is_deleted BOOLEAN;
ALTER TABLE staging.contact_xref ADD COLUMN IF NOT EXISTS merged_into_source_id TEXT;
-- The golden merges of the load (reconcile's merge log: winner/loser), closed in the same transaction.
CREATE TABLE IF NOT EXISTS staging.golden_merges (
    winner_golden_id TEXT,
    loser_golden_id TEXT
);
-- What the load does with each staged golden contact (load/golden_plan.sql): computed once per
-- load so the steps that follow do not see each other's changes.
CREATE TABLE IF NOT EXISTS staging.golden_plan (
    golden_id TEXT,
    action TEXT,
    target_sk BIGINT,
    extend_sk BIGINT,
    new_valid_from TIMESTAMPTZ,
    new_valid_to TIMESTAMPTZ,
    merged_into_golden_id TEXT
);
