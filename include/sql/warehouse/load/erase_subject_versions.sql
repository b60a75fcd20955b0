-- Every identifying value a golden ID ever carried, to suppress and to scrub from files.
SELECT email, phone, social_handle, first_name, last_name
FROM core.golden_contacts
WHERE golden_id = :golden_id;
