-- Drop raw payloads extracted before the cutoff, except the newest version of each source record
-- (same order as raw_latest), so canonicalize replays exactly what it would have before pruning.
DELETE FROM raw.payloads
WHERE extracted_at < :cutoff
  AND (source, object_type, payload_hash) IN (
      SELECT source, object_type, payload_hash
      FROM (
          SELECT source, object_type, payload_hash,
                 row_number() OVER (
                     PARTITION BY source, object_type, source_id
                     ORDER BY source_updated_at DESC NULLS LAST, extracted_at DESC, payload_hash DESC
                 ) AS rn
          FROM raw.payloads
      ) ranked
      WHERE rn > 1
  );
