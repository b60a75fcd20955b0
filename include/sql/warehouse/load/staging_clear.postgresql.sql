-- PostgreSQL: TRUNCATE (transactional here) instead of DELETE, so staging never piles up dead rows that
-- the next load scans; the load holds the warehouse lock, so nobody else reads staging meanwhile.
TRUNCATE staging.golden_contacts;
TRUNCATE staging.contact_xref;
TRUNCATE staging.interactions;
TRUNCATE staging.golden_lineage;
TRUNCATE staging.golden_conflicts;
TRUNCATE staging.golden_merges;
TRUNCATE staging.golden_plan;
TRUNCATE staging.opportunities;
TRUNCATE staging.cases;
TRUNCATE staging.campaigns;
TRUNCATE staging.golden_parked;
