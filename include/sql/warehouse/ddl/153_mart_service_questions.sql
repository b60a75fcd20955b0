-- Service questions per channel and ISO week (weeks start on Monday, in UTC whatever the BI
-- session's time zone): how many questions came in and how fast they were answered and resolved,
-- CRM cases and social threads side by side.
-- * CRM cases: every not deleted case counts, also those whose person is unknown. First response time
--   counts only cases with a first response at or after creation; resolution time only closed cases
--   with a close time at or after creation (a source's clock skew never gives negative durations).
-- * Social threads (issue 14): a thread is (source, thread_id) in core.interactions on a social channel
--   (twitter, x, facebook, instagram, linkedin); it is a service question when one of its inbound
--   messages is understood as complaint or service_question (core.interaction_understanding). It opens
--   with its first inbound message (week and channel from that message). First response = the brand's
--   first outbound message in the thread after it opened. Resolved = the brand's last reply is the last
--   message of the thread (no inbound message after it); resolution time = opening to that reply.
CREATE OR REPLACE VIEW mart.service_questions AS
WITH cases AS (
    SELECT COALESCE(lower(channel), 'unknown') AS channel,
           created_at AS opened_at,
           is_complaint,
           is_closed,
           CASE
               WHEN first_response_at >= created_at
               THEN CAST(extract(epoch FROM (first_response_at - created_at)) AS DOUBLE PRECISION) / 3600.0
           END AS first_response_hours,
           CASE
               WHEN is_closed AND closed_at >= created_at
               THEN CAST(extract(epoch FROM (closed_at - created_at)) AS DOUBLE PRECISION) / 3600.0
           END AS resolution_hours
    FROM core.cases
    WHERE NOT is_deleted
),
messages AS (
    SELECT i.source, i.thread_id, i.occurred_at, i.direction, lower(i.channel) AS channel, u.intent,
           row_number() OVER (
               PARTITION BY i.source, i.thread_id, i.direction ORDER BY i.occurred_at, i.source_id
           ) AS nr
    FROM core.interactions i
    LEFT JOIN core.interaction_understanding u ON u.source = i.source AND u.source_id = i.source_id
    WHERE lower(i.channel) IN ('twitter', 'x', 'facebook', 'instagram', 'linkedin')
      AND i.thread_id IS NOT NULL
      AND i.direction IN ('inbound', 'outbound')
),
threads AS (
    SELECT source,
           thread_id,
           max(CASE WHEN direction = 'inbound' AND nr = 1 THEN channel END) AS channel,
           min(occurred_at) FILTER (WHERE direction = 'inbound') AS opened_at,
           max(occurred_at) FILTER (WHERE direction = 'inbound') AS last_inbound_at,
           max(occurred_at) FILTER (WHERE direction = 'outbound') AS last_reply_at,
           count(*) FILTER (WHERE direction = 'inbound' AND intent = 'complaint') AS complaints,
           count(*) FILTER (WHERE direction = 'inbound' AND intent IN ('complaint', 'service_question')) AS questions
    FROM messages
    GROUP BY source, thread_id
),
social AS (
    SELECT t.channel,
           t.opened_at,
           t.complaints > 0 AS is_complaint,
           t.last_reply_at IS NOT NULL AND t.last_reply_at >= t.last_inbound_at AS is_closed,
           CAST(extract(epoch FROM (r.first_reply_at - t.opened_at)) AS DOUBLE PRECISION) / 3600.0
               AS first_response_hours,
           CASE
               WHEN t.last_reply_at >= t.last_inbound_at
               THEN CAST(extract(epoch FROM (t.last_reply_at - t.opened_at)) AS DOUBLE PRECISION) / 3600.0
           END AS resolution_hours
    FROM threads t
    LEFT JOIN (
        SELECT m.source, m.thread_id, min(m.occurred_at) AS first_reply_at
        FROM messages m
        JOIN threads t2 ON t2.source = m.source AND t2.thread_id = m.thread_id
        WHERE m.direction = 'outbound' AND m.occurred_at >= t2.opened_at
        GROUP BY m.source, m.thread_id
    ) r ON r.source = t.source AND r.thread_id = t.thread_id
    WHERE t.questions > 0 AND t.opened_at IS NOT NULL
),
items AS (
    SELECT 'case' AS kind, channel, opened_at, is_complaint, is_closed, first_response_hours, resolution_hours
    FROM cases
    UNION ALL
    SELECT 'social_thread', channel, opened_at, is_complaint, is_closed, first_response_hours, resolution_hours
    FROM social
),
weeks AS (
    SELECT kind,
           channel,
           CAST(extract(isoyear FROM opened_at AT TIME ZONE 'UTC') AS INTEGER) AS iso_year,
           CAST(extract(week FROM opened_at AT TIME ZONE 'UTC') AS INTEGER) AS iso_week,
           CAST(date_trunc('week', opened_at AT TIME ZONE 'UTC') AS DATE) AS week_start,
           is_complaint,
           is_closed,
           CASE WHEN kind = 'case' THEN first_response_hours END AS case_response,
           CASE WHEN kind = 'case' THEN resolution_hours END AS case_resolution,
           CASE WHEN kind = 'social_thread' THEN first_response_hours END AS social_response,
           CASE WHEN kind = 'social_thread' THEN resolution_hours END AS social_resolution
    FROM items
)
SELECT channel,
       iso_year,
       iso_week,
       week_start,
       count(*) FILTER (WHERE kind = 'case') AS case_count,
       count(*) FILTER (WHERE kind = 'case' AND is_complaint) AS complaint_count,
       count(*) FILTER (WHERE kind = 'case' AND NOT is_closed) AS open_case_count,
       count(case_response) AS responded_case_count,
       count(case_resolution) AS resolved_case_count,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY case_response) AS median_first_response_hours,
       avg(case_response) AS avg_first_response_hours,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY case_resolution) AS median_resolution_hours,
       avg(case_resolution) AS avg_resolution_hours,
       count(*) FILTER (WHERE kind = 'social_thread') AS social_thread_count,
       count(*) FILTER (WHERE kind = 'social_thread' AND is_complaint) AS social_complaint_count,
       count(*) FILTER (WHERE kind = 'social_thread' AND NOT is_closed) AS open_social_thread_count,
       count(social_response) AS responded_social_thread_count,
       count(social_resolution) AS resolved_social_thread_count,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY social_response) AS median_social_first_response_hours,
       avg(social_response) AS avg_social_first_response_hours,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY social_resolution) AS median_social_resolution_hours,
       avg(social_resolution) AS avg_social_resolution_hours
FROM weeks
GROUP BY channel, iso_year, iso_week, week_start;
COMMENT ON VIEW mart.service_questions IS 'Service questions per channel and ISO week (UTC, weeks start on Monday): CRM cases (case_count ...) and social threads answered by the brand''s replies (social_thread_count ...), each with complaints and median/average first-response and resolution times in hours.';
COMMENT ON COLUMN mart.service_questions.channel IS 'Channel the question came in on (twitter, facebook, email, phone, web, ...), lower case; unknown when the source does not say.';
COMMENT ON COLUMN mart.service_questions.iso_year IS 'ISO 8601 week-numbering year of the case creation time (UTC).';
COMMENT ON COLUMN mart.service_questions.iso_week IS 'ISO 8601 week number (1-53) of the case creation time (UTC).';
COMMENT ON COLUMN mart.service_questions.week_start IS 'Monday the ISO week starts on.';
COMMENT ON COLUMN mart.service_questions.case_count IS 'CRM cases created in this channel and week (not deleted); 0 in a week with social threads only.';
COMMENT ON COLUMN mart.service_questions.complaint_count IS 'Of those, cases that are complaints.';
COMMENT ON COLUMN mart.service_questions.open_case_count IS 'Of those, cases still open now.';
COMMENT ON COLUMN mart.service_questions.responded_case_count IS 'Of those, cases with a first response (the base of the first-response times).';
COMMENT ON COLUMN mart.service_questions.resolved_case_count IS 'Of those, closed cases with a close time (the base of the resolution times).';
COMMENT ON COLUMN mart.service_questions.median_first_response_hours IS 'Median hours from case creation to the first response (interpolated); null when no case was answered.';
COMMENT ON COLUMN mart.service_questions.avg_first_response_hours IS 'Average hours from case creation to the first response; null when no case was answered.';
COMMENT ON COLUMN mart.service_questions.median_resolution_hours IS 'Median hours from case creation to closing (interpolated); null when no case was closed.';
COMMENT ON COLUMN mart.service_questions.avg_resolution_hours IS 'Average hours from case creation to closing; null when no case was closed.';
COMMENT ON COLUMN mart.service_questions.social_thread_count IS 'Social threads opened in this channel and week whose inbound messages include a complaint or service question (message understanding).';
COMMENT ON COLUMN mart.service_questions.social_complaint_count IS 'Of those, threads with an inbound message understood as a complaint.';
COMMENT ON COLUMN mart.service_questions.open_social_thread_count IS 'Of those, threads not resolved now: no brand reply yet, or the person wrote again after the brand''s last reply.';
COMMENT ON COLUMN mart.service_questions.responded_social_thread_count IS 'Of those, threads with a brand reply (the base of the social first-response times).';
COMMENT ON COLUMN mart.service_questions.resolved_social_thread_count IS 'Of those, threads whose last message is the brand''s reply (the base of the social resolution times).';
COMMENT ON COLUMN mart.service_questions.median_social_first_response_hours IS 'Median hours from the thread''s first inbound message to the brand''s first reply (interpolated); null when none was answered.';
COMMENT ON COLUMN mart.service_questions.avg_social_first_response_hours IS 'Average hours from the thread''s first inbound message to the brand''s first reply; null when none was answered.';
COMMENT ON COLUMN mart.service_questions.median_social_resolution_hours IS 'Median hours from the thread''s first inbound message to the brand''s last reply in resolved threads (interpolated); null when none is resolved.';
COMMENT ON COLUMN mart.service_questions.avg_social_resolution_hours IS 'Average hours from the thread''s first inbound message to the brand''s last reply in resolved threads; null when none is resolved.';
