-- staging_clear.sql for a small incremental handover on PostgreSQL (issue 17): DELETE, not TRUNCATE.
-- A TRUNCATE of eleven tables creates and later unlinks some thirty files (0.2-0.5 s per load on a
-- busy machine); a small load stages a few thousand rows, whose dead tuples autovacuum removes. A full
-- load still truncates (staging_clear.postgresql.sql), so a million dead rows never pile up here.
DELETE FROM staging.golden_contacts;
DELETE FROM staging.contact_xref;
DELETE FROM staging.interactions;
DELETE FROM staging.golden_lineage;
DELETE FROM staging.golden_conflicts;
DELETE FROM staging.golden_merges;
DELETE FROM staging.golden_plan;
DELETE FROM staging.opportunities;
DELETE FROM staging.cases;
DELETE FROM staging.campaigns;
DELETE FROM staging.golden_parked;
