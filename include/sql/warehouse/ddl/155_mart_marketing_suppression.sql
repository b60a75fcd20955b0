-- Who marketing must not mail: current, not deleted golden contacts with
-- * open_complaint: an open CRM complaint case (of any age; deleted cases do not count);
-- * social_complaint (issue 14): an inbound social message understood as a complaint
--   (core.interaction_understanding.complaint, whether or not the filter kept it in the history),
--   from the moment the hub loaded it (first_loaded_at) until the end of the social_complaint_days-th
--   UTC calendar day counted from the day it was loaded (2: the rest of that day and the whole next);
-- * recent_service_case: any CRM service case created in the last suppression_days days.
-- N values from include/config/marts.yaml; "now" is the time the view is read. reason: the first that
-- applies in the order above.
CREATE OR REPLACE VIEW mart.marketing_suppression AS
WITH person_cases AS (
    SELECT golden_id,
           count(*) FILTER (WHERE is_complaint AND NOT is_closed) AS open_complaint_count,
           count(*) FILTER (
               WHERE created_at >= current_timestamp - INTERVAL '{{ suppression_days }} days'
           ) AS recent_case_count,
           max(created_at) AS last_case_at
    FROM core.cases
    WHERE golden_id IS NOT NULL AND NOT is_deleted
    GROUP BY golden_id
),
social_complaints AS (
    SELECT golden_id,
           occurred_at,
           CAST(
               CAST(date_trunc('day', first_loaded_at AT TIME ZONE 'UTC') AS TIMESTAMP)
               + INTERVAL '{{ social_complaint_days }} days' AS TIMESTAMP
           ) AT TIME ZONE 'UTC' AS suppressed_until
    FROM core.interaction_understanding
    WHERE complaint AND golden_id IS NOT NULL
),
person_social AS (
    SELECT golden_id,
           count(*) AS social_complaint_count,
           max(occurred_at) AS last_social_complaint_at,
           max(suppressed_until) AS social_suppressed_until
    FROM social_complaints
    WHERE suppressed_until > current_timestamp
    GROUP BY golden_id
)
SELECT g.golden_id,
       g.email,
       g.social_network,
       g.social_handle,
       CASE
           WHEN COALESCE(pc.open_complaint_count, 0) > 0 THEN 'open_complaint'
           WHEN ps.golden_id IS NOT NULL THEN 'social_complaint'
           ELSE 'recent_service_case'
       END AS reason,
       COALESCE(pc.open_complaint_count, 0) AS open_complaint_count,
       COALESCE(pc.recent_case_count, 0) AS recent_case_count,
       pc.last_case_at,
       {{ suppression_days }} AS suppression_days,
       COALESCE(ps.social_complaint_count, 0) AS social_complaint_count,
       ps.last_social_complaint_at,
       ps.social_suppressed_until,
       {{ social_complaint_days }} AS social_complaint_days
FROM core.golden_contacts g
LEFT JOIN person_cases pc ON pc.golden_id = g.golden_id
LEFT JOIN person_social ps ON ps.golden_id = g.golden_id
WHERE g.is_current
  AND NOT g.is_deleted
  AND (pc.open_complaint_count > 0 OR pc.recent_case_count > 0 OR ps.golden_id IS NOT NULL);
COMMENT ON VIEW mart.marketing_suppression IS 'Do-not-mail list for marketing: current customers with an open complaint case, a complaint on social loaded in the last social_complaint_days calendar days, or a service case in the last suppression_days days, with the reason. Exclude these golden ids / e-mail addresses from campaigns.';
COMMENT ON COLUMN mart.marketing_suppression.golden_id IS 'The person (mart.customer_360.golden_id).';
COMMENT ON COLUMN mart.marketing_suppression.email IS 'The person''s survived e-mail address, to match the mailing tool''s list; null when unknown.';
COMMENT ON COLUMN mart.marketing_suppression.social_network IS 'Network of the person''s social profile, to exclude them from social ad audiences too.';
COMMENT ON COLUMN mart.marketing_suppression.social_handle IS 'Handle of that social profile, without the @.';
COMMENT ON COLUMN mart.marketing_suppression.reason IS 'open_complaint (an open complaint case, whatever its age), social_complaint (a complaint on social within its suppression period, see social_suppressed_until) or recent_service_case (a case created in the last suppression_days days); the first that applies in this order.';
COMMENT ON COLUMN mart.marketing_suppression.open_complaint_count IS 'Open complaint cases of the person.';
COMMENT ON COLUMN mart.marketing_suppression.recent_case_count IS 'Cases (any kind, open or closed) created in the last suppression_days days.';
COMMENT ON COLUMN mart.marketing_suppression.last_case_at IS 'Creation time (UTC) of the person''s latest case.';
COMMENT ON COLUMN mart.marketing_suppression.suppression_days IS 'The window in days (suppression_days in include/config/marts.yaml).';
COMMENT ON COLUMN mart.marketing_suppression.social_complaint_count IS 'Social messages of the person understood as complaints whose suppression period is running now.';
COMMENT ON COLUMN mart.marketing_suppression.last_social_complaint_at IS 'When (UTC) the latest of those complaints was posted; null when none.';
COMMENT ON COLUMN mart.marketing_suppression.social_suppressed_until IS 'Until when (UTC) the social complaints keep the person suppressed: midnight UTC of the load day plus social_complaint_days days (2: the end of the day after the load day); null when none.';
COMMENT ON COLUMN mart.marketing_suppression.social_complaint_days IS 'Calendar days (UTC) a social complaint suppresses, the load day included (social_complaint_days in include/config/marts.yaml).';
