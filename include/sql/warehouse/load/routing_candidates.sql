-- Kept inbound social messages of known people not routed yet, with the CRM context routing reads:
-- open cases, the newest open deal, followers (social value) and won amounts (customer value).
-- The context is read for those people only (a message not routed stays a candidate on every run, so
-- the candidates are found by index on PostgreSQL: ddl/130_core_routing_candidates_index).
WITH todo AS (
    SELECT u.source, u.source_id, u.golden_id, u.occurred_at, u.channel, u.intent
    FROM core.interaction_understanding u
    WHERE u.kept AND u.golden_id IS NOT NULL
      AND NOT EXISTS (
          SELECT 1 FROM core.routing_queue q WHERE q.source = u.source AND q.source_id = u.source_id
      )
),
cases AS (
    SELECT golden_id, count(*) AS open_cases
    FROM core.cases
    WHERE golden_id IN (SELECT golden_id FROM todo) AND NOT is_deleted AND NOT is_closed
    GROUP BY golden_id
),
deals AS (
    SELECT golden_id, source AS deal_source, source_id AS deal_source_id
    FROM (
        SELECT golden_id, source, source_id,
               row_number() OVER (
                   PARTITION BY golden_id ORDER BY created_at DESC NULLS LAST, source, source_id
               ) AS rn
        FROM core.opportunities
        WHERE golden_id IN (SELECT golden_id FROM todo) AND NOT is_deleted AND NOT is_closed
    ) ranked
    WHERE rn = 1
),
won AS (
    SELECT golden_id, sum(amount) AS customer_value
    FROM core.opportunities
    WHERE golden_id IN (SELECT golden_id FROM todo) AND NOT is_deleted AND is_won
    GROUP BY golden_id
)
SELECT t.source, t.source_id, t.golden_id, t.occurred_at, t.channel, t.intent,
       COALESCE(c.open_cases, 0) > 0 AS open_case,
       d.deal_source_id IS NOT NULL AS open_deal,
       d.deal_source, d.deal_source_id,
       g.social_followers AS followers,
       w.customer_value
FROM todo t
LEFT JOIN cases c ON c.golden_id = t.golden_id
LEFT JOIN deals d ON d.golden_id = t.golden_id
LEFT JOIN won w ON w.golden_id = t.golden_id
LEFT JOIN core.golden_contacts g ON g.golden_id = t.golden_id AND g.is_current
ORDER BY t.source, t.source_id;
