DELETE FROM raw_landing;
