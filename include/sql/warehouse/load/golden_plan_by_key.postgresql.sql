-- golden_plan.sql for a small incremental handover on PostgreSQL (issue 17): the versions of each
-- staged golden ID are fetched by index (LATERAL ... OFFSET 0) instead of a hash join that scans all
-- of core.golden_contacts (0.16 s of a 0.3 s statement at 576k golden contacts). Same plan otherwise.
-- Place every staged golden contact in its history by business time (source_updated_at = T):
--   open        no version yet, or none current (merged away, now back): a current version from
--               T, never before the end of its history
--   none        the version valid at T has the same attributes
--   restate     the version valid at T starts exactly at T: corrected in place
--   close_open  T falls in the current version: close it at T, open the new current version
--   split       T falls in an older version (late-arriving data): end it at T and insert a closed
--               version up to where it ended
--   split_extend as split, but the next version already has these attributes: it starts at T
--   prepend     T is before the first version: insert a closed version up to the first one
--   extend      as prepend, but the first version has these attributes: it starts at T
DELETE FROM staging.golden_plan;
INSERT INTO staging.golden_plan (
    golden_id, action, target_sk, extend_sk, new_valid_from, new_valid_to, merged_into_golden_id
)
WITH versions AS (
    SELECT c.contact_sk, c.golden_id, c.change_hash, c.valid_from, c.valid_to, c.is_current,
           c.merged_into_golden_id,
           lead(c.contact_sk) OVER w AS next_sk,
           lead(c.change_hash) OVER w AS next_hash,
           row_number() OVER w AS rn
    FROM (SELECT DISTINCT golden_id FROM staging.golden_contacts) staged
    CROSS JOIN LATERAL (
        SELECT * FROM core.golden_contacts g WHERE g.golden_id = staged.golden_id OFFSET 0
    ) c
    WINDOW w AS (PARTITION BY c.golden_id ORDER BY c.valid_from, c.contact_sk)
),
summary AS (
    SELECT golden_id,
           count(*) AS n,
           sum(CASE WHEN is_current THEN 1 ELSE 0 END) AS n_current,
           max(valid_to) AS last_to
    FROM versions
    GROUP BY golden_id
),
placed AS (
    SELECT s.golden_id, s.change_hash, s.source_updated_at AS t,
           sm.n, sm.n_current, sm.last_to,
           v.contact_sk AS v_sk, v.change_hash AS v_hash, v.valid_from AS v_from, v.valid_to AS v_to,
           v.is_current AS v_current, v.next_sk AS v_next_sk, v.next_hash AS v_next_hash,
           v.merged_into_golden_id AS v_merged,
           f.contact_sk AS f_sk, f.change_hash AS f_hash, f.valid_from AS f_from
    FROM staging.golden_contacts s
    LEFT JOIN summary sm ON sm.golden_id = s.golden_id
    LEFT JOIN versions v
      ON v.golden_id = s.golden_id
     AND v.valid_from <= s.source_updated_at
     AND (v.valid_to IS NULL OR s.source_updated_at < v.valid_to)
    LEFT JOIN versions f ON f.golden_id = s.golden_id AND f.rn = 1
)
SELECT golden_id, action, target_sk, extend_sk, new_valid_from, new_valid_to, merged_into_golden_id
FROM (
    SELECT golden_id,
           CASE
               WHEN n IS NULL OR n_current = 0 THEN 'open'
               WHEN v_sk IS NULL AND t < f_from AND change_hash = f_hash THEN 'extend'
               WHEN v_sk IS NULL AND t < f_from THEN 'prepend'
               WHEN v_sk IS NULL THEN 'none'
               WHEN change_hash = v_hash THEN 'none'
               WHEN v_from = t THEN 'restate'
               WHEN v_current THEN 'close_open'
               WHEN change_hash = v_next_hash THEN 'split_extend'
               ELSE 'split'
           END AS action,
           v_sk AS target_sk,
           CASE WHEN v_sk IS NULL THEN f_sk ELSE v_next_sk END AS extend_sk,
           CASE WHEN n IS NULL OR n_current = 0 THEN GREATEST(t, COALESCE(last_to, t)) ELSE t END AS new_valid_from,
           CASE WHEN v_sk IS NULL THEN f_from ELSE v_to END AS new_valid_to,
           v_merged AS merged_into_golden_id
    FROM placed
) planned
WHERE action <> 'none';
