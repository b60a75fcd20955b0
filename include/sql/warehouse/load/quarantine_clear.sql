DELETE FROM staging.quarantine;
