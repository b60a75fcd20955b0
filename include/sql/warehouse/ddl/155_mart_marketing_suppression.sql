-- Who marketing must not mail: current, not deleted golden contacts with an open complaint (of
-- any age) or any service case created in the last suppression_days days (N from
-- include/config/marts.yaml; "now" is the time the view is read). Deleted cases do not count.
-- reason: open_complaint wins over recent_service_case when both apply.
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
)
SELECT g.golden_id,
       g.email,
       g.social_network,
       g.social_handle,
       CASE WHEN pc.open_complaint_count > 0 THEN 'open_complaint' ELSE 'recent_service_case' END AS reason,
       pc.open_complaint_count,
       pc.recent_case_count,
       pc.last_case_at,
       {{ suppression_days }} AS suppression_days
FROM core.golden_contacts g
JOIN person_cases pc ON pc.golden_id = g.golden_id
WHERE g.is_current
  AND NOT g.is_deleted
  AND (pc.open_complaint_count > 0 OR pc.recent_case_count > 0);
COMMENT ON VIEW mart.marketing_suppression IS 'Do-not-mail list for marketing: current customers with an open complaint or a service case in the last suppression_days days, with the reason. Exclude these golden ids / e-mail addresses from campaigns.';
COMMENT ON COLUMN mart.marketing_suppression.golden_id IS 'The person (mart.customer_360.golden_id).';
COMMENT ON COLUMN mart.marketing_suppression.email IS 'The person''s survived e-mail address, to match the mailing tool''s list; null when unknown.';
COMMENT ON COLUMN mart.marketing_suppression.social_network IS 'Network of the person''s social profile, to exclude them from social ad audiences too.';
COMMENT ON COLUMN mart.marketing_suppression.social_handle IS 'Handle of that social profile, without the @.';
COMMENT ON COLUMN mart.marketing_suppression.reason IS 'open_complaint (an open complaint case, whatever its age) or recent_service_case (a case created in the last suppression_days days); open_complaint wins when both apply.';
COMMENT ON COLUMN mart.marketing_suppression.open_complaint_count IS 'Open complaint cases of the person.';
COMMENT ON COLUMN mart.marketing_suppression.recent_case_count IS 'Cases (any kind, open or closed) created in the last suppression_days days.';
COMMENT ON COLUMN mart.marketing_suppression.last_case_at IS 'Creation time (UTC) of the person''s latest case.';
COMMENT ON COLUMN mart.marketing_suppression.suppression_days IS 'The window in days (suppression_days in include/config/marts.yaml).';
