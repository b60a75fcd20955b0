-- Splits (issue 12), after the first pass: every staged golden contact back, at its own time.
DELETE FROM staging.golden_contacts;
INSERT INTO staging.golden_contacts (
    golden_id, first_name, name_prefix, last_name, email, phone, street, house_number,
    house_number_addition, postcode, city, country, social_network, social_handle, company,
    source_updated_at, is_deleted, change_hash, social_followers
)
SELECT golden_id, first_name, name_prefix, last_name, email, phone, street, house_number,
    house_number_addition, postcode, city, country, social_network, social_handle, company,
    source_updated_at, is_deleted, change_hash, social_followers
FROM staging.golden_parked;
DELETE FROM staging.golden_parked;
