-- Insert the planned versions: current ones (open, close_open) and closed ones placed in history
-- by business time (split, prepend: valid until the next version starts).
INSERT INTO core.golden_contacts (
    golden_id, first_name, name_prefix, last_name, email, phone, street, house_number,
    house_number_addition, postcode, city, country, social_network, social_handle, social_followers,
    company, source_updated_at, is_deleted, change_hash, valid_from, valid_to, is_current,
    merged_into_golden_id, loaded_run_id, loaded_at
)
SELECT s.golden_id, s.first_name, s.name_prefix, s.last_name, s.email, s.phone, s.street,
       s.house_number, s.house_number_addition, s.postcode, s.city, s.country, s.social_network,
       s.social_handle, s.social_followers, s.company, s.source_updated_at, s.is_deleted, s.change_hash,
       p.new_valid_from,
       CASE WHEN p.action IN ('open', 'close_open') THEN NULL ELSE p.new_valid_to END,
       p.action IN ('open', 'close_open'),
       CASE WHEN p.action = 'split' THEN p.merged_into_golden_id END,
       :run_id, :loaded_at
FROM staging.golden_plan p
JOIN staging.golden_contacts s ON s.golden_id = p.golden_id
WHERE p.action IN ('open', 'close_open', 'split', 'prepend');
