-- Has anything of this source and object type been landed? (decides full vs incremental pulls)
SELECT 1 FROM raw.payloads WHERE source = :source AND object_type = :object_type LIMIT 1;
