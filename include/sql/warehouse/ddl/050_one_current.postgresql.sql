-- PostgreSQL enforces "exactly one current version" with partial unique indexes.
CREATE UNIQUE INDEX IF NOT EXISTS golden_contacts_one_current
    ON core.golden_contacts (golden_id) WHERE is_current;
CREATE UNIQUE INDEX IF NOT EXISTS contact_xref_one_current
    ON core.contact_xref (source, source_id) WHERE is_current;
