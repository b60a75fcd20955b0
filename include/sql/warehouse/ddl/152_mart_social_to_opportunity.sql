-- "How many tweets led to a sales opportunity": per not deleted opportunity, the inbound social
-- interactions (twitter, x, facebook, instagram, linkedin; sent by the person, not by us) of the
-- same golden person in the social_lookback_days days before the opportunity was created
-- (occurred_at >= created_at - N days and occurred_at < created_at). N comes from
-- include/config/marts.yaml. Opportunities without a known contact have no social interactions.
CREATE OR REPLACE VIEW mart.social_to_opportunity AS
WITH opportunity AS (
    SELECT o.source, o.source_id, o.golden_id, o.name, o.stage, o.amount, o.currency, o.is_closed,
           o.is_won, o.lead_source, o.created_at, o.closed_at, cp.name AS campaign_name
    FROM core.opportunities o
    LEFT JOIN core.campaigns cp
        ON cp.source = o.source AND cp.source_id = o.campaign_source_id AND NOT cp.is_deleted
    WHERE NOT o.is_deleted
),
social AS (
    SELECT o.source,
           o.source_id,
           count(*) AS social_interaction_count,
           count(*) FILTER (
               WHERE o.campaign_name IS NOT NULL AND lower(trim(i.campaign)) = lower(trim(o.campaign_name))
           ) AS campaign_social_interaction_count,
           string_agg(DISTINCT lower(i.channel), ',' ORDER BY lower(i.channel)) AS social_channels,
           min(i.occurred_at) AS first_social_at,
           max(i.occurred_at) AS last_social_at
    FROM opportunity o
    JOIN core.interactions i
        ON i.golden_id = o.golden_id
       AND i.occurred_at < o.created_at
       AND i.occurred_at >= o.created_at - INTERVAL '{{ social_lookback_days }} days'
    WHERE i.direction = 'inbound'
      AND lower(i.channel) IN ('twitter', 'x', 'facebook', 'instagram', 'linkedin')
    GROUP BY o.source, o.source_id
)
SELECT o.source,
       o.source_id,
       o.golden_id,
       o.name AS opportunity_name,
       o.stage,
       o.amount,
       o.currency,
       o.is_closed,
       o.is_won,
       o.lead_source,
       o.campaign_name,
       o.created_at,
       o.closed_at,
       COALESCE(s.social_interaction_count, 0) AS social_interaction_count,
       COALESCE(s.campaign_social_interaction_count, 0) AS campaign_social_interaction_count,
       s.social_channels,
       s.first_social_at,
       s.last_social_at,
       COALESCE(s.social_interaction_count, 0) > 0 AS has_social_lead,
       {{ social_lookback_days }} AS lookback_days
FROM opportunity o
LEFT JOIN social s ON s.source = o.source AND s.source_id = o.source_id;
COMMENT ON VIEW mart.social_to_opportunity IS 'Social to opportunity: per sales opportunity, the inbound social messages (twitter, x, facebook, instagram, linkedin) the same person sent in the lookback_days days before it was created. sum(social_interaction_count) = how many social messages led to opportunities; count where has_social_lead = opportunities with a social lead.';
COMMENT ON COLUMN mart.social_to_opportunity.source IS 'Source system of the opportunity (CRM).';
COMMENT ON COLUMN mart.social_to_opportunity.source_id IS 'Id of the opportunity in that source.';
COMMENT ON COLUMN mart.social_to_opportunity.golden_id IS 'The person whose opportunity it is (its primary contact); null when the contact is unknown.';
COMMENT ON COLUMN mart.social_to_opportunity.opportunity_name IS 'Name of the opportunity as the source gives it.';
COMMENT ON COLUMN mart.social_to_opportunity.stage IS 'Sales stage as the source names it.';
COMMENT ON COLUMN mart.social_to_opportunity.amount IS 'Amount of the opportunity in its currency.';
COMMENT ON COLUMN mart.social_to_opportunity.currency IS 'ISO 4217 currency of the amount.';
COMMENT ON COLUMN mart.social_to_opportunity.is_closed IS 'The opportunity is closed (won or lost).';
COMMENT ON COLUMN mart.social_to_opportunity.is_won IS 'The opportunity is closed and won.';
COMMENT ON COLUMN mart.social_to_opportunity.lead_source IS 'Lead source as the CRM records it (Social Media, Web, ...).';
COMMENT ON COLUMN mart.social_to_opportunity.campaign_name IS 'Name of the campaign the opportunity names in its source; null when none.';
COMMENT ON COLUMN mart.social_to_opportunity.created_at IS 'When the opportunity was created (UTC); the end of the lookback window.';
COMMENT ON COLUMN mart.social_to_opportunity.closed_at IS 'Close date (expected or actual, as the source gives it).';
COMMENT ON COLUMN mart.social_to_opportunity.social_interaction_count IS 'Inbound social messages of the same person in the lookback_days days before created_at (the start of the window included, created_at excluded).';
COMMENT ON COLUMN mart.social_to_opportunity.campaign_social_interaction_count IS 'Of those, the messages tagged with the opportunity''s campaign (names compared case-insensitively).';
COMMENT ON COLUMN mart.social_to_opportunity.social_channels IS 'Comma-separated, sorted social channels of those messages; null when none.';
COMMENT ON COLUMN mart.social_to_opportunity.first_social_at IS 'Time of the first of those messages; null when none.';
COMMENT ON COLUMN mart.social_to_opportunity.last_social_at IS 'Time of the last of those messages before the opportunity; null when none.';
COMMENT ON COLUMN mart.social_to_opportunity.has_social_lead IS 'True when at least one such social message exists.';
COMMENT ON COLUMN mart.social_to_opportunity.lookback_days IS 'The lookback window in days (social_lookback_days in include/config/marts.yaml).';
