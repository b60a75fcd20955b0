-- Splits (issue 12), first pass: records split off a golden ID into a new one (reconcile's split
-- event: winner = the golden ID that stays, loser = the new one). The golden ID that stays changes
-- when the split does: at the business time of the new golden contact(s), when that is later than
-- its own (its own time is the newest of the records it kept, usually before the split). Every
-- staged golden contact is set aside; only those golden IDs stay staged, at the split's time, for
-- one pass of the golden steps. The normal pass then places every staged state at its own time, so
-- a later full rerun of the same interval finds both states already in place and changes nothing.
DELETE FROM staging.golden_parked;
INSERT INTO staging.golden_parked (
    golden_id, first_name, name_prefix, last_name, email, phone, street, house_number,
    house_number_addition, postcode, city, country, social_network, social_handle, company,
    source_updated_at, is_deleted, change_hash, social_followers
)
SELECT golden_id, first_name, name_prefix, last_name, email, phone, street, house_number,
    house_number_addition, postcode, city, country, social_network, social_handle, company,
    source_updated_at, is_deleted, change_hash, social_followers
FROM staging.golden_contacts;
DELETE FROM staging.golden_contacts
WHERE golden_id NOT IN (
    SELECT sm.winner_golden_id
    FROM staging.golden_merges sm
    JOIN staging.golden_parked stays ON stays.golden_id = sm.winner_golden_id
    JOIN staging.golden_parked parted ON parted.golden_id = sm.loser_golden_id
    WHERE sm.event = 'split' AND parted.source_updated_at > stays.source_updated_at
);
UPDATE staging.golden_contacts
SET source_updated_at = (
    SELECT max(parted.source_updated_at)
    FROM staging.golden_merges sm
    JOIN staging.golden_parked parted ON parted.golden_id = sm.loser_golden_id
    WHERE sm.event = 'split' AND sm.winner_golden_id = staging.golden_contacts.golden_id
);
