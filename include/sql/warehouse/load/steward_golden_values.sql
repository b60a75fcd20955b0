-- The current golden values of the golden record a source record belongs to now (the fallback when
-- the run folder with the record's own canonical values is gone).
SELECT x.golden_id, g.first_name, g.name_prefix, g.last_name, g.company, g.email, g.phone, g.street,
       g.house_number, g.house_number_addition, g.postcode, g.city, g.country, g.social_network,
       g.social_handle, g.source_updated_at, g.is_deleted
FROM core.contact_xref x
LEFT JOIN core.golden_contacts g ON g.golden_id = x.golden_id AND g.is_current
WHERE x.source = :source AND x.source_id = :source_id AND x.is_current;
