SELECT merge_id, run_id, winner_golden_id, loser_golden_id, rule, records, loser_records, merged_at,
       undone, undone_at, undone_by, event
FROM core.golden_merge_log
ORDER BY merged_at, merge_id;
