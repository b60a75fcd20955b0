-- "How many tweets led to a sales opportunity". Attribution model (issue 14), exactly:
-- * Which messages: inbound social messages (twitter, x, facebook, instagram, linkedin; sent by the
--   person, not by us) that entered the customer history and that message understanding
--   (core.interaction_understanding, crmhub.messages) reads as intent sales_lead. Complaints, service
--   questions, praise and other messages never count, however close to the deal.
-- * Which window: the social_lookback_days days before the opportunity was created
--   (occurred_at >= created_at - N days and occurred_at < created_at); N from include/config/marts.yaml.
-- * Touches: every such message counts (social_interaction_count); the opportunity has a social lead
--   when at least one exists. first_touch_* is the earliest, last_touch_* the latest such message;
--   mart.campaign_revenue credits social revenue to the last touch.
-- Opportunities without a known contact have no social interactions. A message without understanding
-- (loaded before issue 14 and not reloaded since) does not count.
CREATE OR REPLACE VIEW mart.social_to_opportunity AS
WITH opportunity AS (
    SELECT o.source, o.source_id, o.golden_id, o.name, o.stage, o.amount, o.currency, o.is_closed,
           o.is_won, o.lead_source, o.created_at, o.closed_at, cp.name AS campaign_name
    FROM core.opportunities o
    LEFT JOIN core.campaigns cp
        ON cp.source = o.source AND cp.source_id = o.campaign_source_id AND NOT cp.is_deleted
    WHERE NOT o.is_deleted
),
window_messages AS (
    SELECT o.source AS opp_source, o.source_id AS opp_source_id, i.source, i.source_id, i.occurred_at,
           i.channel, i.campaign, u.intent
    FROM opportunity o
    JOIN core.interactions i
        ON i.golden_id = o.golden_id
       AND i.occurred_at < o.created_at
       AND i.occurred_at >= o.created_at - INTERVAL '{{ social_lookback_days }} days'
    LEFT JOIN core.interaction_understanding u ON u.source = i.source AND u.source_id = i.source_id
    WHERE i.direction = 'inbound'
      AND lower(i.channel) IN ('twitter', 'x', 'facebook', 'instagram', 'linkedin')
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
    JOIN window_messages i ON i.opp_source = o.source AND i.opp_source_id = o.source_id
    WHERE i.intent = 'sales_lead'
    GROUP BY o.source, o.source_id
),
touches AS (
    SELECT opp_source, opp_source_id,
           max(CASE WHEN first_rank = 1 THEN source || ':' || source_id END) AS first_touch,
           max(CASE WHEN first_rank = 1 THEN lower(channel) END) AS first_touch_channel,
           max(CASE WHEN last_rank = 1 THEN source || ':' || source_id END) AS last_touch,
           max(CASE WHEN last_rank = 1 THEN lower(channel) END) AS last_touch_channel
    FROM (
        SELECT opp_source, opp_source_id, source, source_id, channel,
               row_number() OVER (
                   PARTITION BY opp_source, opp_source_id ORDER BY occurred_at, source, source_id
               ) AS first_rank,
               row_number() OVER (
                   PARTITION BY opp_source, opp_source_id ORDER BY occurred_at DESC, source DESC, source_id DESC
               ) AS last_rank
        FROM window_messages
        WHERE intent = 'sales_lead'
    ) ranked
    GROUP BY opp_source, opp_source_id
),
not_leads AS (
    SELECT opp_source, opp_source_id, count(*) AS other_social_count
    FROM window_messages
    WHERE intent IS NULL OR intent <> 'sales_lead'
    GROUP BY opp_source, opp_source_id
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
       {{ social_lookback_days }} AS lookback_days,
       'sales_lead_in_window' AS attribution_model,
       t.first_touch AS first_touch_interaction,
       t.first_touch_channel,
       t.last_touch AS last_touch_interaction,
       t.last_touch_channel,
       COALESCE(n.other_social_count, 0) AS other_social_interaction_count
FROM opportunity o
LEFT JOIN social s ON s.source = o.source AND s.source_id = o.source_id
LEFT JOIN touches t ON t.opp_source = o.source AND t.opp_source_id = o.source_id
LEFT JOIN not_leads n ON n.opp_source = o.source AND n.opp_source_id = o.source_id;
COMMENT ON VIEW mart.social_to_opportunity IS 'Social to opportunity: per sales opportunity, the inbound social messages (twitter, x, facebook, instagram, linkedin) understood as sales leads (intent sales_lead) that the same person sent in the lookback_days days before it was created; complaints and other messages never count. sum(social_interaction_count) = how many social messages led to opportunities; count where has_social_lead = opportunities with a social lead.';
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
COMMENT ON COLUMN mart.social_to_opportunity.social_interaction_count IS 'Inbound social sales-lead messages (intent sales_lead) of the same person in the lookback_days days before created_at (the start of the window included, created_at excluded).';
COMMENT ON COLUMN mart.social_to_opportunity.campaign_social_interaction_count IS 'Of those, the messages tagged with the opportunity''s campaign (names compared case-insensitively).';
COMMENT ON COLUMN mart.social_to_opportunity.social_channels IS 'Comma-separated, sorted social channels of those messages; null when none.';
COMMENT ON COLUMN mart.social_to_opportunity.first_social_at IS 'Time of the first of those messages; null when none.';
COMMENT ON COLUMN mart.social_to_opportunity.last_social_at IS 'Time of the last of those messages before the opportunity; null when none.';
COMMENT ON COLUMN mart.social_to_opportunity.has_social_lead IS 'True when at least one such social message exists.';
COMMENT ON COLUMN mart.social_to_opportunity.lookback_days IS 'The lookback window in days (social_lookback_days in include/config/marts.yaml).';
COMMENT ON COLUMN mart.social_to_opportunity.attribution_model IS 'sales_lead_in_window: only kept inbound social messages understood as sales leads, in the lookback window before creation, count; first and last touch are named.';
COMMENT ON COLUMN mart.social_to_opportunity.first_touch_interaction IS 'The earliest counted sales-lead message as source:source_id (core.interactions); null when none.';
COMMENT ON COLUMN mart.social_to_opportunity.first_touch_channel IS 'Channel of the first touch; null when none.';
COMMENT ON COLUMN mart.social_to_opportunity.last_touch_interaction IS 'The latest counted sales-lead message before the opportunity as source:source_id; null when none.';
COMMENT ON COLUMN mart.social_to_opportunity.last_touch_channel IS 'Channel of the last touch; null when none.';
COMMENT ON COLUMN mart.social_to_opportunity.other_social_interaction_count IS 'Inbound social messages of the person in the same window that do not count: complaints, service questions, praise, other, or not understood.';
