-- Close the current version of every golden contact whose attributes changed. The new version
-- starts at the business time of the change (never before the version it replaces).
UPDATE core.golden_contacts
SET valid_to = GREATEST(s.source_updated_at, core.golden_contacts.valid_from),
    is_current = FALSE
FROM staging.golden_contacts s
WHERE core.golden_contacts.golden_id = s.golden_id
  AND core.golden_contacts.is_current
  AND core.golden_contacts.change_hash <> s.change_hash;
