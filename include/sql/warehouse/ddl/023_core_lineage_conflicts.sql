-- Current lineage of every golden attribute (replaced per golden_id on each load) and the
-- current conflicts per golden_id for stewards (replaced per golden_id; an identical conflict is
-- kept as first recorded, so reruns add nothing: ddl 161 and load/conflicts_*.sql, issue 12).
CREATE TABLE IF NOT EXISTS core.golden_lineage (
    golden_id TEXT NOT NULL,
    attribute TEXT NOT NULL,
    source TEXT,
    source_id TEXT,
    source_updated_at TIMESTAMPTZ,
    rule TEXT,
    loaded_run_id TEXT NOT NULL,
    loaded_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (golden_id, attribute)
);
CREATE TABLE IF NOT EXISTS core.golden_conflicts (
    run_id TEXT NOT NULL,
    golden_id TEXT NOT NULL,
    attribute TEXT NOT NULL,
    chosen_source TEXT,
    chosen_value TEXT,
    other_source TEXT,
    other_value TEXT,
    rule TEXT,
    loaded_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS golden_conflicts_run_idx ON core.golden_conflicts (run_id);
CREATE INDEX IF NOT EXISTS golden_conflicts_golden_idx ON core.golden_conflicts (golden_id);
