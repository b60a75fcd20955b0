-- Service questions per channel and ISO week (weeks start on Monday, in UTC whatever the BI
-- session's time zone): how many cases came in and how fast they were answered and resolved.
-- Every not deleted case counts, also those whose person is unknown. First response time counts
-- only cases with a first response at or after creation; resolution time only closed cases with a
-- close time at or after creation (a source's clock skew never gives negative durations).
CREATE OR REPLACE VIEW mart.service_questions AS
WITH cases AS (
    SELECT COALESCE(lower(channel), 'unknown') AS channel,
           CAST(extract(isoyear FROM created_at AT TIME ZONE 'UTC') AS INTEGER) AS iso_year,
           CAST(extract(week FROM created_at AT TIME ZONE 'UTC') AS INTEGER) AS iso_week,
           CAST(date_trunc('week', created_at AT TIME ZONE 'UTC') AS DATE) AS week_start,
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
)
SELECT channel,
       iso_year,
       iso_week,
       week_start,
       count(*) AS case_count,
       count(*) FILTER (WHERE is_complaint) AS complaint_count,
       count(*) FILTER (WHERE NOT is_closed) AS open_case_count,
       count(first_response_hours) AS responded_case_count,
       count(resolution_hours) AS resolved_case_count,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY first_response_hours) AS median_first_response_hours,
       avg(first_response_hours) AS avg_first_response_hours,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY resolution_hours) AS median_resolution_hours,
       avg(resolution_hours) AS avg_resolution_hours
FROM cases
GROUP BY channel, iso_year, iso_week, week_start;
COMMENT ON VIEW mart.service_questions IS 'Service questions per channel and ISO week (UTC, weeks start on Monday): number of cases and complaints, and median/average first-response and resolution times in hours.';
COMMENT ON COLUMN mart.service_questions.channel IS 'Channel the question came in on (twitter, facebook, email, phone, web, ...), lower case; unknown when the source does not say.';
COMMENT ON COLUMN mart.service_questions.iso_year IS 'ISO 8601 week-numbering year of the case creation time (UTC).';
COMMENT ON COLUMN mart.service_questions.iso_week IS 'ISO 8601 week number (1-53) of the case creation time (UTC).';
COMMENT ON COLUMN mart.service_questions.week_start IS 'Monday the ISO week starts on.';
COMMENT ON COLUMN mart.service_questions.case_count IS 'Cases created in this channel and week (not deleted).';
COMMENT ON COLUMN mart.service_questions.complaint_count IS 'Of those, cases that are complaints.';
COMMENT ON COLUMN mart.service_questions.open_case_count IS 'Of those, cases still open now.';
COMMENT ON COLUMN mart.service_questions.responded_case_count IS 'Of those, cases with a first response (the base of the first-response times).';
COMMENT ON COLUMN mart.service_questions.resolved_case_count IS 'Of those, closed cases with a close time (the base of the resolution times).';
COMMENT ON COLUMN mart.service_questions.median_first_response_hours IS 'Median hours from case creation to the first response (interpolated); null when no case was answered.';
COMMENT ON COLUMN mart.service_questions.avg_first_response_hours IS 'Average hours from case creation to the first response; null when no case was answered.';
COMMENT ON COLUMN mart.service_questions.median_resolution_hours IS 'Median hours from case creation to closing (interpolated); null when no case was closed.';
COMMENT ON COLUMN mart.service_questions.avg_resolution_hours IS 'Average hours from case creation to closing; null when no case was closed.';
