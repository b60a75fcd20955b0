-- Newest payload per source record: latest business timestamp, then latest extraction.
SELECT source, object_type, source_id, source_updated_at, payload, payload_hash, run_id, extracted_at
FROM (
    SELECT p.*,
           row_number() OVER (
               PARTITION BY source_id
               ORDER BY source_updated_at DESC NULLS LAST, extracted_at DESC, payload_hash DESC
           ) AS rn
    FROM raw.payloads p
    WHERE source = :source AND object_type = :object_type
) ranked
WHERE rn = 1
ORDER BY source_id;
