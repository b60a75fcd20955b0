-- Revenue of won opportunities attributed to campaigns. Attribution, exactly:
-- * Won opportunity = core.opportunities with is_won and not is_deleted; its whole amount goes to
--   at most one campaign, so revenue is never counted twice.
-- * direct: the opportunity names a campaign (campaign_source_id = core.campaigns.source_id of a
--   not deleted campaign in the same source) -> that campaign.
-- * social_last_touch: otherwise, the LAST inbound social interaction (twitter, x, facebook,
--   instagram, linkedin) of the same golden person understood as a sales lead (intent sales_lead,
--   core.interaction_understanding) and tagged with a campaign (interactions.campaign) in the
--   social_lookback_days days before the opportunity was created (the attribution model of
--   mart.social_to_opportunity) -> the campaign of that tag. Connectors set interactions.campaign
--   only from campaign tags (Sprout: CAMPAIGN tags and the campaign_tags option; Hootsuite: tags on
--   broadcast posts and campaign_tags), never from routing labels such as service or klacht.
-- * A won opportunity without an amount is counted (won_opportunity_count, unknown_amount_won_count)
--   but adds nothing to revenue: its amount is unknown, not 0. revenue is null when every attributed
--   won opportunity lacks an amount.
-- * Opportunities matching neither are not attributed (they appear in no row).
-- Campaigns are identified across sources by their normalized name, lower(trim(name)); a tag with
-- no campaign record still gets a row. Amounts are summed as given: currencies are not converted
-- (the currencies column lists them).
CREATE OR REPLACE VIEW mart.campaign_revenue AS
WITH named AS (
    SELECT lower(trim(name)) AS campaign_key,
           trim(name) AS campaign_name,
           row_number() OVER (
               PARTITION BY lower(trim(name)) ORDER BY source_updated_at DESC, source, source_id
           ) AS rn
    FROM core.campaigns
    WHERE NOT is_deleted
),
campaign AS (
    SELECT lower(trim(name)) AS campaign_key,
           string_agg(DISTINCT lower(channel), ',' ORDER BY lower(channel)) AS channels,
           string_agg(DISTINCT source, ',' ORDER BY source) AS sources,
           min(started_at) AS started_at,
           max(ended_at) AS ended_at
    FROM core.campaigns
    WHERE NOT is_deleted
    GROUP BY lower(trim(name))
),
won AS (
    SELECT source, source_id, golden_id, amount, currency, created_at, campaign_source_id
    FROM core.opportunities
    WHERE is_won AND NOT is_deleted
),
direct AS (
    SELECT w.source, w.source_id, lower(trim(c.name)) AS campaign_key, c.name AS tag
    FROM won w
    JOIN core.campaigns c ON c.source = w.source AND c.source_id = w.campaign_source_id AND NOT c.is_deleted
),
social AS (
    SELECT source, source_id, campaign_key, tag
    FROM (
        SELECT w.source,
               w.source_id,
               lower(trim(i.campaign)) AS campaign_key,
               trim(i.campaign) AS tag,
               row_number() OVER (
                   PARTITION BY w.source, w.source_id ORDER BY i.occurred_at DESC, i.source, i.source_id
               ) AS rn
        FROM won w
        JOIN core.interactions i
            ON i.golden_id = w.golden_id
        JOIN core.interaction_understanding u
            ON u.source = i.source AND u.source_id = i.source_id AND u.intent = 'sales_lead'
           AND i.occurred_at < w.created_at
           AND i.occurred_at >= w.created_at - INTERVAL '{{ social_lookback_days }} days'
        WHERE i.direction = 'inbound'
          AND lower(i.channel) IN ('twitter', 'x', 'facebook', 'instagram', 'linkedin')
          AND trim(i.campaign) <> ''
          AND NOT EXISTS (SELECT 1 FROM direct d WHERE d.source = w.source AND d.source_id = w.source_id)
    ) ranked
    WHERE rn = 1
),
attributed AS (
    SELECT source, source_id, campaign_key, tag, 'direct' AS attribution FROM direct
    UNION ALL
    SELECT source, source_id, campaign_key, tag, 'social_last_touch' AS attribution FROM social
),
revenue AS (
    SELECT a.campaign_key,
           max(a.tag) AS tag,
           count(*) AS won_opportunity_count,
           sum(w.amount) AS revenue,
           count(*) FILTER (WHERE w.amount IS NULL) AS unknown_amount_won_count,
           count(*) FILTER (WHERE a.attribution = 'direct') AS direct_won_count,
           sum(w.amount) FILTER (WHERE a.attribution = 'direct') AS direct_revenue,
           count(*) FILTER (WHERE a.attribution = 'social_last_touch') AS social_won_count,
           sum(w.amount) FILTER (WHERE a.attribution = 'social_last_touch') AS social_revenue,
           string_agg(DISTINCT w.currency, ',' ORDER BY w.currency) AS currencies
    FROM attributed a
    JOIN won w ON w.source = a.source AND w.source_id = a.source_id
    GROUP BY a.campaign_key
),
tagged AS (
    SELECT lower(trim(campaign)) AS campaign_key, count(*) AS social_interaction_count
    FROM core.interactions
    WHERE direction = 'inbound'
      AND lower(channel) IN ('twitter', 'x', 'facebook', 'instagram', 'linkedin')
      AND trim(campaign) <> ''
    GROUP BY lower(trim(campaign))
),
keys AS (
    SELECT campaign_key FROM campaign
    UNION
    SELECT campaign_key FROM revenue
)
SELECT k.campaign_key,
       COALESCE(n.campaign_name, r.tag) AS campaign_name,
       c.channels,
       c.sources,
       c.started_at,
       c.ended_at,
       COALESCE(t.social_interaction_count, 0) AS social_interaction_count,
       COALESCE(r.won_opportunity_count, 0) AS won_opportunity_count,
       CASE WHEN COALESCE(r.won_opportunity_count, 0) = 0 THEN 0 ELSE r.revenue END AS revenue,
       COALESCE(r.direct_won_count, 0) AS direct_won_count,
       CASE WHEN COALESCE(r.direct_won_count, 0) = 0 THEN 0 ELSE r.direct_revenue END AS direct_revenue,
       COALESCE(r.social_won_count, 0) AS social_won_count,
       CASE WHEN COALESCE(r.social_won_count, 0) = 0 THEN 0 ELSE r.social_revenue END AS social_revenue,
       r.currencies,
       {{ social_lookback_days }} AS lookback_days,
       COALESCE(r.unknown_amount_won_count, 0) AS unknown_amount_won_count
FROM keys k
LEFT JOIN campaign c ON c.campaign_key = k.campaign_key
LEFT JOIN named n ON n.campaign_key = k.campaign_key AND n.rn = 1
LEFT JOIN revenue r ON r.campaign_key = k.campaign_key
LEFT JOIN tagged t ON t.campaign_key = k.campaign_key;
COMMENT ON VIEW mart.campaign_revenue IS 'Revenue of won opportunities per campaign (campaigns matched across sources by lower-cased, trimmed name). Each won opportunity counts for at most one campaign: direct = the opportunity names the campaign in its CRM; otherwise social_last_touch = the campaign tag of the person''s last inbound social message in the lookback_days days before the opportunity was created. Amounts are not converted between currencies.';
COMMENT ON COLUMN mart.campaign_revenue.campaign_key IS 'Campaign identity across sources: the lower-cased, trimmed campaign name or tag.';
COMMENT ON COLUMN mart.campaign_revenue.campaign_name IS 'Campaign name (trimmed) as the most recently updated campaign record spells it, or the social tag when no source has a campaign record.';
COMMENT ON COLUMN mart.campaign_revenue.channels IS 'Comma-separated channels the sources give the campaign (social, email, web, event, ...); null for a tag without a campaign record.';
COMMENT ON COLUMN mart.campaign_revenue.sources IS 'Comma-separated source systems that hold the campaign; null for a tag without a campaign record.';
COMMENT ON COLUMN mart.campaign_revenue.started_at IS 'Earliest start of the campaign across sources.';
COMMENT ON COLUMN mart.campaign_revenue.ended_at IS 'Latest end of the campaign across sources.';
COMMENT ON COLUMN mart.campaign_revenue.social_interaction_count IS 'Inbound social messages (all time) tagged with the campaign.';
COMMENT ON COLUMN mart.campaign_revenue.won_opportunity_count IS 'Won opportunities attributed to the campaign (direct + social_last_touch).';
COMMENT ON COLUMN mart.campaign_revenue.revenue IS 'Sum of the known amounts of those won opportunities (direct_revenue + social_revenue); 0 when none was won, null when every won one lacks an amount (see unknown_amount_won_count).';
COMMENT ON COLUMN mart.campaign_revenue.direct_won_count IS 'Won opportunities that name this campaign in their CRM.';
COMMENT ON COLUMN mart.campaign_revenue.direct_revenue IS 'Their summed known amount; 0 when none, null when none of them has an amount.';
COMMENT ON COLUMN mart.campaign_revenue.social_won_count IS 'Won opportunities without a direct campaign whose person''s last tagged inbound social sales-lead message in the lookback window carries this campaign.';
COMMENT ON COLUMN mart.campaign_revenue.social_revenue IS 'Their summed known amount; 0 when none, null when none of them has an amount.';
COMMENT ON COLUMN mart.campaign_revenue.currencies IS 'Comma-separated ISO 4217 currencies of the attributed amounts; more than one means revenue mixes currencies.';
COMMENT ON COLUMN mart.campaign_revenue.lookback_days IS 'The social lookback window in days (social_lookback_days in include/config/marts.yaml).';
COMMENT ON COLUMN mart.campaign_revenue.unknown_amount_won_count IS 'Of the attributed won opportunities, those without an amount: counted as won, their revenue unknown (not 0).';
