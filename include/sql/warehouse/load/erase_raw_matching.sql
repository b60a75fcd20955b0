-- Raw records whose payload mentions an identifier (catches people not reconciled yet).
SELECT DISTINCT source, object_type, source_id
FROM raw.payloads
WHERE strpos(lower(payload), :needle) > 0;
