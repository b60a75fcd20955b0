-- Scratch tables the loader bulk-copies each frame into before set-based SQL moves them into
-- core. Emptied at the start and end of every load (inside its transaction), so they hold no
-- personal data between loads.
CREATE TABLE IF NOT EXISTS staging.golden_contacts (
    golden_id TEXT,
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
    source_updated_at TIMESTAMPTZ,
    is_deleted BOOLEAN,
    change_hash TEXT
);
CREATE TABLE IF NOT EXISTS staging.contact_xref (
    source TEXT,
    source_id TEXT,
    golden_id TEXT,
    match_rule TEXT,
    match_key TEXT
);
CREATE TABLE IF NOT EXISTS staging.interactions (
    source TEXT,
    source_id TEXT,
    contact_source_id TEXT,
    occurred_at TIMESTAMPTZ,
    channel TEXT,
    direction TEXT,
    interaction_type TEXT,
    text TEXT,
    campaign TEXT,
    thread_id TEXT,
    golden_id TEXT
);
CREATE TABLE IF NOT EXISTS staging.golden_lineage (
    golden_id TEXT,
    attribute TEXT,
    source TEXT,
    source_id TEXT,
    source_updated_at TIMESTAMPTZ,
    rule TEXT
);
CREATE TABLE IF NOT EXISTS staging.golden_conflicts (
    golden_id TEXT,
    attribute TEXT,
    chosen_source TEXT,
    chosen_value TEXT,
    other_source TEXT,
    other_value TEXT,
    rule TEXT
);
