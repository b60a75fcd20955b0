-- Golden IDs of the subject, over every SCD2 version (an old e-mail still identifies the person).
SELECT DISTINCT golden_id
FROM core.golden_contacts
WHERE golden_id = :golden_id
   OR lower(email) = :email
   OR phone = :phone;
