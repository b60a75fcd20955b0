-- Message understanding (issue 14, crmhub.messages): one row per inbound social message, keyed like
-- core.interactions, with its evidence (explanation: rule ids, cue counts, scores, model id; never the
-- text). Every classified message is kept here, also the ones the interaction filter left out of
-- core.interactions (kept false, filter_rule says why; the message itself stays in raw.payloads).
-- Upserted: a row is rewritten only when its understanding or filter decision changes;
-- first_loaded_at is when the hub first loaded the message (the start of its suppression period).
-- golden_id is null for a message whose sender the hub does not know.
CREATE TABLE IF NOT EXISTS core.interaction_understanding (
    source TEXT NOT NULL,
    source_id TEXT NOT NULL,
    golden_id TEXT,
    occurred_at TIMESTAMPTZ NOT NULL,
    channel TEXT,
    direction TEXT,
    language TEXT NOT NULL,
    intent TEXT NOT NULL,
    complaint BOOLEAN NOT NULL,
    sentiment TEXT NOT NULL,
    explanation TEXT NOT NULL,
    model TEXT NOT NULL,
    kept BOOLEAN NOT NULL,
    filter_rule TEXT,
    first_loaded_at TIMESTAMPTZ NOT NULL,
    loaded_run_id TEXT NOT NULL,
    loaded_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, source_id)
);
CREATE INDEX IF NOT EXISTS interaction_understanding_golden_idx ON core.interaction_understanding (golden_id);
CREATE TABLE IF NOT EXISTS staging.interaction_understanding (
    source TEXT,
    source_id TEXT,
    golden_id TEXT,
    occurred_at TIMESTAMPTZ,
    channel TEXT,
    direction TEXT,
    language TEXT,
    intent TEXT,
    complaint BOOLEAN,
    sentiment TEXT,
    explanation TEXT,
    model TEXT,
    kept BOOLEAN,
    filter_rule TEXT
);
