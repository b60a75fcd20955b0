-- Open a version for every staged golden contact without a current one: new contacts, and the
-- changed ones closed by golden_close.sql (valid_from = the closed version's valid_to).
INSERT INTO core.golden_contacts (
    golden_id, first_name, name_prefix, last_name, email, phone, street, house_number,
    house_number_addition, postcode, city, country, social_network, social_handle, company,
    source_updated_at, is_deleted, change_hash, valid_from, valid_to, is_current,
    loaded_run_id, loaded_at
)
SELECT s.golden_id, s.first_name, s.name_prefix, s.last_name, s.email, s.phone, s.street,
       s.house_number, s.house_number_addition, s.postcode, s.city, s.country, s.social_network,
       s.social_handle, s.company, s.source_updated_at, s.is_deleted, s.change_hash,
       GREATEST(s.source_updated_at, COALESCE(prev.last_valid_from, s.source_updated_at)),
       NULL, TRUE, :run_id, :loaded_at
FROM staging.golden_contacts s
LEFT JOIN (
    SELECT golden_id, max(valid_from) AS last_valid_from
    FROM core.golden_contacts
    GROUP BY golden_id
) prev ON prev.golden_id = s.golden_id
WHERE NOT EXISTS (
    SELECT 1 FROM core.golden_contacts c WHERE c.golden_id = s.golden_id AND c.is_current
);
