DELETE FROM staging.golden_contacts;
DELETE FROM staging.contact_xref;
DELETE FROM staging.interactions;
DELETE FROM staging.golden_lineage;
DELETE FROM staging.golden_conflicts;
