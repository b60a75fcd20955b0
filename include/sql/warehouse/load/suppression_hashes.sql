-- Every suppressed key hash (small: a few per erased person), read once per ingest task.
SELECT key_hash FROM ops.suppression;
