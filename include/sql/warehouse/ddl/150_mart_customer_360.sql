-- Customer 360 for BI: one row per current, not deleted golden contact with its source records,
-- social handles and social value, open service cases, open deals and interaction summary.
-- Columns are only ever appended at the end (PostgreSQL's CREATE OR REPLACE VIEW cannot reorder).
-- Social channels everywhere in the marts: twitter, x, facebook, instagram, linkedin.
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
handles AS (
    SELECT golden_id, string_agg(DISTINCT handle, ',' ORDER BY handle) AS social_handles
    FROM (
        SELECT golden_id, lower(source_id) AS handle
        FROM core.contact_xref
        WHERE is_current
          AND split_part(lower(source_id), ':', 1) IN ('twitter', 'x', 'facebook', 'instagram', 'linkedin')
          AND split_part(source_id, ':', 2) <> ''
        UNION
        SELECT golden_id, lower(social_network) || ':' || lower(social_handle) AS handle
        FROM core.golden_contacts
        WHERE is_current AND social_network IS NOT NULL AND social_handle IS NOT NULL
    ) all_handles
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
    SELECT golden_id,
           channel AS last_interaction_channel,
           interaction_type AS last_interaction_type,
           direction AS last_interaction_direction
    FROM (
        SELECT golden_id, channel, interaction_type, direction,
               row_number() OVER (
                   PARTITION BY golden_id ORDER BY occurred_at DESC, source, source_id
               ) AS rn
        FROM core.interactions
        WHERE golden_id IS NOT NULL
    ) ranked
    WHERE rn = 1
),
open_cases AS (
    SELECT golden_id,
           count(*) AS open_case_count,
           count(*) FILTER (WHERE is_complaint) AS open_complaint_count
    FROM core.cases
    WHERE golden_id IS NOT NULL AND NOT is_deleted AND NOT is_closed
    GROUP BY golden_id
),
complaints AS (
    SELECT golden_id, complaint_at, complaint_channel, complaint_kind
    FROM (
        SELECT golden_id, complaint_at, complaint_channel, complaint_kind,
               row_number() OVER (
                   PARTITION BY golden_id ORDER BY complaint_at DESC, complaint_kind, complaint_channel
               ) AS rn
        FROM (
            SELECT golden_id, occurred_at AS complaint_at, lower(channel) AS complaint_channel,
                   'social' AS complaint_kind
            FROM core.interaction_understanding
            WHERE complaint AND golden_id IS NOT NULL
            UNION ALL
            SELECT golden_id, created_at, lower(channel), 'case'
            FROM core.cases
            WHERE is_complaint AND NOT is_deleted AND golden_id IS NOT NULL
        ) all_complaints
    ) ranked
    WHERE rn = 1
),
sentiment AS (
    SELECT golden_id,
           count(*) AS understood_message_count,
           avg(score) FILTER (WHERE rn <= 3) AS sentiment_recent,
           avg(score) FILTER (WHERE rn > 3 AND rn <= 6) AS sentiment_previous
    FROM (
        SELECT golden_id,
               CASE sentiment WHEN 'positive' THEN 1.0 WHEN 'negative' THEN -1.0 ELSE 0.0 END AS score,
               row_number() OVER (PARTITION BY golden_id ORDER BY occurred_at DESC, source, source_id) AS rn
        FROM core.interaction_understanding
        WHERE golden_id IS NOT NULL
    ) scored
    GROUP BY golden_id
),
open_deals AS (
    SELECT golden_id,
           count(*) AS open_opportunity_count,
           COALESCE(sum(amount), 0) AS open_opportunity_amount,
           string_agg(DISTINCT currency, ',' ORDER BY currency) AS open_opportunity_currencies
    FROM core.opportunities
    WHERE golden_id IS NOT NULL AND NOT is_deleted AND NOT is_closed
    GROUP BY golden_id
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
       g.valid_from AS version_valid_from,
       g.social_followers,
       h.social_handles,
       COALESCE(oc.open_case_count, 0) AS open_case_count,
       COALESCE(oc.open_complaint_count, 0) AS open_complaint_count,
       COALESCE(od.open_opportunity_count, 0) AS open_opportunity_count,
       COALESCE(od.open_opportunity_amount, 0) AS open_opportunity_amount,
       od.open_opportunity_currencies,
       l.last_interaction_type,
       l.last_interaction_direction,
       c.complaint_at AS last_complaint_at,
       c.complaint_channel AS last_complaint_channel,
       c.complaint_kind AS last_complaint_kind,
       COALESCE(st.understood_message_count, 0) AS understood_message_count,
       CAST(st.sentiment_recent AS DOUBLE PRECISION) AS sentiment_recent,
       CAST(st.sentiment_previous AS DOUBLE PRECISION) AS sentiment_previous,
       CASE
           WHEN st.sentiment_previous IS NULL THEN NULL
           WHEN st.sentiment_recent - st.sentiment_previous >= 0.5 THEN 'improving'
           WHEN st.sentiment_recent - st.sentiment_previous <= -0.5 THEN 'worsening'
           ELSE 'stable'
       END AS sentiment_trend
FROM core.golden_contacts g
LEFT JOIN xref x ON x.golden_id = g.golden_id
LEFT JOIN handles h ON h.golden_id = g.golden_id
LEFT JOIN activity a ON a.golden_id = g.golden_id
LEFT JOIN last_interaction l ON l.golden_id = g.golden_id
LEFT JOIN open_cases oc ON oc.golden_id = g.golden_id
LEFT JOIN open_deals od ON od.golden_id = g.golden_id
LEFT JOIN complaints c ON c.golden_id = g.golden_id
LEFT JOIN sentiment st ON st.golden_id = g.golden_id
WHERE g.is_current AND NOT g.is_deleted;
COMMENT ON VIEW mart.customer_360 IS 'One row per current, not deleted golden contact (a person as the hub reconciled them across every source): contact details, source records, social handles and social value, open service cases and deals, and interaction summary.';
COMMENT ON COLUMN mart.customer_360.golden_id IS 'Stable hub id of the person; the same person keeps it across runs. Join key of every mart.';
COMMENT ON COLUMN mart.customer_360.first_name IS 'First name as survived under the precedence rules (include/config/precedence.yaml).';
COMMENT ON COLUMN mart.customer_360.name_prefix IS 'Dutch tussenvoegsel (van, de, van der, ...), kept apart from the last name.';
COMMENT ON COLUMN mart.customer_360.last_name IS 'Last name without the tussenvoegsel.';
COMMENT ON COLUMN mart.customer_360.email IS 'Survived e-mail address (normalized).';
COMMENT ON COLUMN mart.customer_360.phone IS 'Survived phone number in E.164 form.';
COMMENT ON COLUMN mart.customer_360.street IS 'Street of the survived address (the address is taken whole from one source).';
COMMENT ON COLUMN mart.customer_360.house_number IS 'House number of the survived address.';
COMMENT ON COLUMN mart.customer_360.house_number_addition IS 'House number addition (A, bis, 2-hoog, ...).';
COMMENT ON COLUMN mart.customer_360.postcode IS 'Postcode (Dutch postcodes as 1234 AB).';
COMMENT ON COLUMN mart.customer_360.city IS 'City (woonplaats) of the survived address.';
COMMENT ON COLUMN mart.customer_360.country IS 'Country of the survived address.';
COMMENT ON COLUMN mart.customer_360.company IS 'Company the person works for, where a source knows it.';
COMMENT ON COLUMN mart.customer_360.social_network IS 'Network of the survived social profile: twitter, facebook, instagram or linkedin.';
COMMENT ON COLUMN mart.customer_360.social_handle IS 'Handle of the survived social profile, without the @.';
COMMENT ON COLUMN mart.customer_360.source_count IS 'Number of distinct source systems holding a current record of this person.';
COMMENT ON COLUMN mart.customer_360.source_record_count IS 'Number of current source records linked to this person (a source may hold duplicates).';
COMMENT ON COLUMN mart.customer_360.sources IS 'Comma-separated, sorted names of the source systems holding a current record of this person.';
COMMENT ON COLUMN mart.customer_360.interaction_count IS 'Number of interactions (messages, mails, calls, notes) of this person across all channels.';
COMMENT ON COLUMN mart.customer_360.first_interaction_at IS 'Time (UTC) of the first interaction of this person; null when none.';
COMMENT ON COLUMN mart.customer_360.last_interaction_at IS 'Time (UTC) of the latest interaction of this person; null when none.';
COMMENT ON COLUMN mart.customer_360.last_interaction_channel IS 'Channel of the latest interaction (twitter, email, phone, ...).';
COMMENT ON COLUMN mart.customer_360.version_valid_from IS 'Business time from which the current version of the golden record is valid (SCD2 history in core.golden_contacts).';
COMMENT ON COLUMN mart.customer_360.social_followers IS 'Social value: highest follower count among the person''s social profiles; null when no source reports it.';
COMMENT ON COLUMN mart.customer_360.social_handles IS 'Comma-separated, sorted network:handle pairs of every social profile linked to this person (lower case).';
COMMENT ON COLUMN mart.customer_360.open_case_count IS 'Number of open, not deleted service cases of this person.';
COMMENT ON COLUMN mart.customer_360.open_complaint_count IS 'Number of those open cases that are complaints.';
COMMENT ON COLUMN mart.customer_360.open_opportunity_count IS 'Number of open (not closed), not deleted sales opportunities of this person.';
COMMENT ON COLUMN mart.customer_360.open_opportunity_amount IS 'Sum of the amounts of those open opportunities, not converted between currencies (see open_opportunity_currencies); 0 when none.';
COMMENT ON COLUMN mart.customer_360.open_opportunity_currencies IS 'Comma-separated ISO 4217 currencies of the open opportunities; more than one means the amount mixes currencies.';
COMMENT ON COLUMN mart.customer_360.last_interaction_type IS 'Type of the latest interaction: mention, reply, dm, post, comment, note, email, call, case.';
COMMENT ON COLUMN mart.customer_360.last_interaction_direction IS 'Direction of the latest interaction: inbound (from the person) or outbound (from us).';
COMMENT ON COLUMN mart.customer_360.last_complaint_at IS 'When (UTC) the person last complained: a social message understood as a complaint (crmhub.messages) or a CRM complaint case; null when never.';
COMMENT ON COLUMN mart.customer_360.last_complaint_channel IS 'Channel of that last complaint (twitter, email, phone, ...).';
COMMENT ON COLUMN mart.customer_360.last_complaint_kind IS 'social (a message understood as a complaint) or case (a CRM complaint case).';
COMMENT ON COLUMN mart.customer_360.understood_message_count IS 'Inbound social messages of the person with message understanding (core.interaction_understanding).';
COMMENT ON COLUMN mart.customer_360.sentiment_recent IS 'Average sentiment of the person''s latest 3 understood social messages: positive 1, neutral 0, negative -1; null when none.';
COMMENT ON COLUMN mart.customer_360.sentiment_previous IS 'Average sentiment of the up to 3 understood messages before those (4th to 6th latest); null when there are fewer than 4.';
COMMENT ON COLUMN mart.customer_360.sentiment_trend IS 'improving (recent at least 0.5 above previous), worsening (at least 0.5 below), stable, or null when there is no previous sentiment.';
