-- merge_id is derived from run and ids, so re-running a run logs nothing twice. event: merge or split.
INSERT INTO core.golden_merge_log (
    merge_id, run_id, winner_golden_id, loser_golden_id, rule, records, loser_records, merged_at, undone, event
)
SELECT s.merge_id, :run_id, s.winner_golden_id, s.loser_golden_id, s.rule, s.records, s.loser_records,
       :merged_at, FALSE, s.event
FROM staging.merge_log s
WHERE NOT EXISTS (SELECT 1 FROM core.golden_merge_log m WHERE m.merge_id = s.merge_id);
