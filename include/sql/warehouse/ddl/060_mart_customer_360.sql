-- Customer 360 for BI: every current, not deleted golden contact with its source records,
-- social handle and interaction summary. Sources are a comma-separated list (portable text).
CREATE OR REPLACE VIEW mart.customer_360 AS
WITH xref AS (
    SELECT golden_id,
           count(*) AS source_record_count,
           count(DISTINCT source) AS source_count,
           string_agg(DISTINCT source, ',' ORDER BY source) AS sources
    FROM core.contact_xref
    WHERE is_current
    GROUP BY golden_id
),
activity AS (
    SELECT golden_id,
           count(*) AS interaction_count,
           min(occurred_at) AS first_interaction_at,
           max(occurred_at) AS last_interaction_at
    FROM core.interactions
    WHERE golden_id IS NOT NULL
    GROUP BY golden_id
),
last_interaction AS (
    SELECT golden_id, channel AS last_interaction_channel
    FROM (
        SELECT golden_id, channel,
               row_number() OVER (
                   PARTITION BY golden_id ORDER BY occurred_at DESC, source, source_id
               ) AS rn
        FROM core.interactions
        WHERE golden_id IS NOT NULL
    ) ranked
    WHERE rn = 1
)
SELECT g.golden_id,
       g.first_name,
       g.name_prefix,
       g.last_name,
       g.email,
       g.phone,
       g.street,
       g.house_number,
       g.house_number_addition,
       g.postcode,
       g.city,
       g.country,
       g.company,
       g.social_network,
       g.social_handle,
       COALESCE(x.source_count, 0) AS source_count,
       COALESCE(x.source_record_count, 0) AS source_record_count,
       x.sources,
       COALESCE(a.interaction_count, 0) AS interaction_count,
       a.first_interaction_at,
       a.last_interaction_at,
       l.last_interaction_channel,
       g.valid_from AS version_valid_from
FROM core.golden_contacts g
LEFT JOIN xref x ON x.golden_id = g.golden_id
LEFT JOIN activity a ON a.golden_id = g.golden_id
LEFT JOIN last_interaction l ON l.golden_id = g.golden_id
WHERE g.is_current AND NOT g.is_deleted;
