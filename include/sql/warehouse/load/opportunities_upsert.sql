-- Upsert by (source, source_id) keeping the newest business version (see campaigns_upsert.sql).
-- golden_id follows the current xref even when the staged version is older than the stored one,
-- so a golden merge re-points the opportunities of the merged contact.
UPDATE core.opportunities
SET contact_source_id = s.contact_source_id, name = s.name, stage = s.stage, amount = s.amount,
    currency = s.currency, is_closed = s.is_closed, is_won = s.is_won, lead_source = s.lead_source,
    campaign_source_id = s.campaign_source_id, created_at = s.created_at, closed_at = s.closed_at,
    source_updated_at = s.source_updated_at, is_deleted = s.is_deleted, golden_id = s.golden_id,
    loaded_run_id = :run_id, loaded_at = :loaded_at
FROM staging.opportunities s
WHERE core.opportunities.source = s.source
  AND core.opportunities.source_id = s.source_id
  AND (s.source_updated_at > core.opportunities.source_updated_at
       OR (s.source_updated_at = core.opportunities.source_updated_at
           AND (core.opportunities.contact_source_id IS DISTINCT FROM s.contact_source_id
                OR core.opportunities.name IS DISTINCT FROM s.name
                OR core.opportunities.stage IS DISTINCT FROM s.stage
                OR core.opportunities.amount IS DISTINCT FROM s.amount
                OR core.opportunities.currency IS DISTINCT FROM s.currency
                OR core.opportunities.is_closed IS DISTINCT FROM s.is_closed
                OR core.opportunities.is_won IS DISTINCT FROM s.is_won
                OR core.opportunities.lead_source IS DISTINCT FROM s.lead_source
                OR core.opportunities.campaign_source_id IS DISTINCT FROM s.campaign_source_id
                OR core.opportunities.created_at IS DISTINCT FROM s.created_at
                OR core.opportunities.closed_at IS DISTINCT FROM s.closed_at
                OR core.opportunities.is_deleted IS DISTINCT FROM s.is_deleted
                OR core.opportunities.golden_id IS DISTINCT FROM s.golden_id)));
UPDATE core.opportunities
SET golden_id = s.golden_id, loaded_run_id = :run_id, loaded_at = :loaded_at
FROM staging.opportunities s
WHERE core.opportunities.source = s.source
  AND core.opportunities.source_id = s.source_id
  AND s.source_updated_at < core.opportunities.source_updated_at
  AND core.opportunities.contact_source_id IS NOT DISTINCT FROM s.contact_source_id
  AND core.opportunities.golden_id IS DISTINCT FROM s.golden_id;
INSERT INTO core.opportunities (
    source, source_id, contact_source_id, name, stage, amount, currency, is_closed, is_won, lead_source,
    campaign_source_id, created_at, closed_at, source_updated_at, is_deleted, golden_id, loaded_run_id, loaded_at
)
SELECT s.source, s.source_id, s.contact_source_id, s.name, s.stage, s.amount, s.currency, s.is_closed,
       s.is_won, s.lead_source, s.campaign_source_id, s.created_at, s.closed_at, s.source_updated_at,
       s.is_deleted, s.golden_id, :run_id, :loaded_at
FROM staging.opportunities s
WHERE NOT EXISTS (SELECT 1 FROM core.opportunities c WHERE c.source = s.source AND c.source_id = s.source_id);
