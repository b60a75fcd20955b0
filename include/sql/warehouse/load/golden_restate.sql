-- Correct in place the version starting exactly at the staged business time (restate), and move
-- the start of the neighbouring version that already holds the staged attributes back to the
-- staged business time (extend, split_extend), so no two adjacent versions are equal.
UPDATE core.golden_contacts
SET first_name = s.first_name, name_prefix = s.name_prefix, last_name = s.last_name, email = s.email,
    phone = s.phone, street = s.street, house_number = s.house_number,
    house_number_addition = s.house_number_addition, postcode = s.postcode, city = s.city,
    country = s.country, social_network = s.social_network, social_handle = s.social_handle,
    social_followers = s.social_followers, company = s.company, source_updated_at = s.source_updated_at,
    is_deleted = s.is_deleted, change_hash = s.change_hash, loaded_run_id = :run_id, loaded_at = :loaded_at
FROM staging.golden_plan p
JOIN staging.golden_contacts s ON s.golden_id = p.golden_id
WHERE core.golden_contacts.contact_sk = p.target_sk
  AND p.action = 'restate';
UPDATE core.golden_contacts
SET valid_from = p.new_valid_from, source_updated_at = p.new_valid_from,
    loaded_run_id = :run_id, loaded_at = :loaded_at
FROM staging.golden_plan p
WHERE core.golden_contacts.contact_sk = p.extend_sk
  AND p.action IN ('extend', 'split_extend');
