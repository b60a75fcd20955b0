-- Interactions attached to the subject, by golden ID or by the source contact they came from.
SELECT source, source_id
FROM core.interactions
WHERE golden_id = :golden_id;
