-- Golden contacts as SCD type 2: one row per version, valid_from/valid_to in business time
-- (half-open interval, valid_to NULL = open), exactly one current row per golden_id.
CREATE SEQUENCE IF NOT EXISTS core.golden_contacts_sk_seq;
CREATE TABLE IF NOT EXISTS core.golden_contacts (
    contact_sk BIGINT PRIMARY KEY DEFAULT nextval('core.golden_contacts_sk_seq'),
    golden_id TEXT NOT NULL,
    first_name TEXT,
    name_prefix TEXT,
    last_name TEXT,
    email TEXT,
    phone TEXT,
    street TEXT,
    house_number TEXT,
    house_number_addition TEXT,
    postcode TEXT,
    city TEXT,
    country TEXT,
    social_network TEXT,
    social_handle TEXT,
    company TEXT,
    source_updated_at TIMESTAMPTZ NOT NULL,
    is_deleted BOOLEAN NOT NULL,
    change_hash TEXT NOT NULL,
    valid_from TIMESTAMPTZ NOT NULL,
    valid_to TIMESTAMPTZ,
    is_current BOOLEAN NOT NULL,
    loaded_run_id TEXT NOT NULL,
    loaded_at TIMESTAMPTZ NOT NULL,
    CHECK (valid_to IS NULL OR valid_to >= valid_from),
    CHECK (is_current = (valid_to IS NULL))
);
CREATE INDEX IF NOT EXISTS golden_contacts_golden_id_idx ON core.golden_contacts (golden_id);
