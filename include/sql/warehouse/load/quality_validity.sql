-- Warehouse gate: every version after the first, with the validity end of the version before it.
-- Consecutive versions are enough: any overlap shows up between two neighbours.
SELECT golden_id, version_number, valid_from, previous_valid_to
FROM (
    SELECT golden_id, valid_from,
           row_number() OVER (PARTITION BY golden_id ORDER BY valid_from, contact_sk) AS version_number,
           lag(valid_to) OVER (PARTITION BY golden_id ORDER BY valid_from, contact_sk) AS previous_valid_to
    FROM core.golden_contacts
) v
WHERE version_number > 1;
