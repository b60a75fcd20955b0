DELETE FROM staging.quality_results;
