-- Append the landed records whose (source, object_type, payload_hash) is new; duplicates within
-- the batch keep the earliest extraction.
INSERT INTO raw.payloads (
    source, object_type, source_id, source_updated_at, payload, payload_hash, run_id, extracted_at
)
SELECT DISTINCT ON (source, object_type, payload_hash)
       source, object_type, source_id, source_updated_at, payload, payload_hash, run_id, extracted_at
FROM raw_landing l
WHERE NOT EXISTS (
    SELECT 1 FROM raw.payloads p
    WHERE p.source = l.source AND p.object_type = l.object_type AND p.payload_hash = l.payload_hash
)
ORDER BY source, object_type, payload_hash, extracted_at, source_id
ON CONFLICT (source, object_type, payload_hash) DO NOTHING;
