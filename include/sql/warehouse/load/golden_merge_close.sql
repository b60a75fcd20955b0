-- A golden record merged into another (reconcile's merge log) closes: its current version ends at
-- the winner's business time (never before its own start) and names the winner. A loser that is
-- still staged (the merge was undone in the same run) is left to the normal steps. Split events
-- (issue 12) close nothing here: the split's golden IDs are staged and placed by the golden steps.
UPDATE core.golden_contacts
SET valid_to = GREATEST(COALESCE(m.merged_at, core.golden_contacts.valid_from), core.golden_contacts.valid_from),
    is_current = FALSE,
    merged_into_golden_id = m.winner_golden_id
FROM (
    SELECT sm.loser_golden_id, min(sm.winner_golden_id) AS winner_golden_id, max(w.source_updated_at) AS merged_at
    FROM staging.golden_merges sm
    LEFT JOIN staging.golden_contacts w ON w.golden_id = sm.winner_golden_id
    WHERE sm.event = 'merge'
    GROUP BY sm.loser_golden_id
) m
WHERE core.golden_contacts.golden_id = m.loser_golden_id
  AND core.golden_contacts.is_current
  AND NOT EXISTS (SELECT 1 FROM staging.golden_contacts s WHERE s.golden_id = m.loser_golden_id);
