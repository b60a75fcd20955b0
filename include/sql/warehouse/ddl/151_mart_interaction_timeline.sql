-- The customer history across channels: one row per event of a current, not deleted golden
-- contact, numbered in time order per person. Events are interactions (core.interactions), the
-- opening of a service case (core.cases) and the creation of a sales opportunity
-- (core.opportunities); deleted cases and opportunities are left out.
CREATE OR REPLACE VIEW mart.interaction_timeline AS
WITH events AS (
    SELECT i.golden_id,
           i.occurred_at AS event_at,
           'interaction' AS event_kind,
           i.source,
           i.source_id,
           i.channel,
           i.direction,
           i.interaction_type AS event_type,
           i.campaign,
           i.thread_id,
           substr(i.text, 1, 280) AS summary,
           CAST(NULL AS TEXT) AS status,
           CAST(NULL AS DOUBLE PRECISION) AS amount,
           CAST(NULL AS TEXT) AS currency
    FROM core.interactions i
    WHERE i.golden_id IS NOT NULL
    UNION ALL
    SELECT c.golden_id,
           c.created_at,
           'case',
           c.source,
           c.source_id,
           c.channel,
           'inbound',
           CASE WHEN c.is_complaint THEN 'complaint' ELSE 'question' END,
           CAST(NULL AS TEXT),
           CAST(NULL AS TEXT),
           substr(c.subject, 1, 280),
           c.status,
           CAST(NULL AS DOUBLE PRECISION),
           CAST(NULL AS TEXT)
    FROM core.cases c
    WHERE c.golden_id IS NOT NULL AND NOT c.is_deleted
    UNION ALL
    SELECT o.golden_id,
           o.created_at,
           'opportunity',
           o.source,
           o.source_id,
           CAST(NULL AS TEXT),
           CAST(NULL AS TEXT),
           'opportunity',
           cp.name,
           CAST(NULL AS TEXT),
           substr(o.name, 1, 280),
           o.stage,
           o.amount,
           o.currency
    FROM core.opportunities o
    LEFT JOIN core.campaigns cp
        ON cp.source = o.source AND cp.source_id = o.campaign_source_id AND NOT cp.is_deleted
    WHERE o.golden_id IS NOT NULL AND NOT o.is_deleted AND o.created_at IS NOT NULL
)
SELECT e.golden_id,
       row_number() OVER (
           PARTITION BY e.golden_id ORDER BY e.event_at, e.event_kind, e.source, e.source_id
       ) AS event_seq,
       e.event_at,
       e.event_kind,
       e.source,
       e.source_id,
       e.channel,
       e.direction,
       e.event_type,
       e.campaign,
       e.thread_id,
       e.summary,
       e.status,
       e.amount,
       e.currency
FROM events e
JOIN core.golden_contacts g ON g.golden_id = e.golden_id AND g.is_current AND NOT g.is_deleted;
COMMENT ON VIEW mart.interaction_timeline IS 'The customer history across channels: one row per interaction, service case and sales opportunity of a current golden contact, numbered in time order per person (event_seq). Sort by golden_id, event_seq.';
COMMENT ON COLUMN mart.interaction_timeline.golden_id IS 'The person (mart.customer_360.golden_id).';
COMMENT ON COLUMN mart.interaction_timeline.event_seq IS 'Position of the event in the person''s history, 1 = oldest; ties are broken by kind, source and source id so the order is stable.';
COMMENT ON COLUMN mart.interaction_timeline.event_at IS 'When it happened (UTC): interaction time, case creation time or opportunity creation time.';
COMMENT ON COLUMN mart.interaction_timeline.event_kind IS 'interaction, case or opportunity.';
COMMENT ON COLUMN mart.interaction_timeline.source IS 'Source system the event comes from (hubspot, hootsuite, salesforce, ...).';
COMMENT ON COLUMN mart.interaction_timeline.source_id IS 'Id of the interaction, case or opportunity in that source.';
COMMENT ON COLUMN mart.interaction_timeline.channel IS 'Channel: twitter, facebook, instagram, linkedin, email, phone, web, ...; null for opportunities.';
COMMENT ON COLUMN mart.interaction_timeline.direction IS 'inbound (from the person) or outbound (from us); cases are inbound; null for opportunities.';
COMMENT ON COLUMN mart.interaction_timeline.event_type IS 'Interaction type (mention, reply, dm, post, comment, note, email, call, case), complaint or question for cases, opportunity for opportunities.';
COMMENT ON COLUMN mart.interaction_timeline.campaign IS 'Campaign the interaction is tagged with, or the campaign the opportunity names; null for cases.';
COMMENT ON COLUMN mart.interaction_timeline.thread_id IS 'Conversation thread of the interaction in its source; null for cases and opportunities.';
COMMENT ON COLUMN mart.interaction_timeline.summary IS 'First 280 characters of the message text, the case subject or the opportunity name.';
COMMENT ON COLUMN mart.interaction_timeline.status IS 'Case status or opportunity stage as the source names it; null for interactions.';
COMMENT ON COLUMN mart.interaction_timeline.amount IS 'Opportunity amount in its currency; null for other events.';
COMMENT ON COLUMN mart.interaction_timeline.currency IS 'ISO 4217 currency of the opportunity amount; null for other events.';
