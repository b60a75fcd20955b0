-- Conflicts are kept per golden ID, like lineage (issue 12): core.golden_conflicts holds each golden
-- contact's current conflicts, replaced per golden ID in this load's golden or conflicts frame (and
-- per merge loser, which has none once merged). Only rows without an identical staged conflict are
-- deleted, so re-recording the same conflict (a rerun, or the next run finding it again) is a no-op
-- and the row keeps the run that first recorded it.
DELETE FROM core.golden_conflicts
USING (
    SELECT golden_id FROM staging.golden_contacts
    UNION
    SELECT golden_id FROM staging.golden_conflicts
    UNION
    SELECT loser_golden_id FROM staging.golden_merges WHERE event = 'merge'
) staged
WHERE core.golden_conflicts.golden_id = staged.golden_id
  AND NOT EXISTS (
    SELECT 1 FROM staging.golden_conflicts s
    WHERE s.golden_id = core.golden_conflicts.golden_id
      AND s.attribute = core.golden_conflicts.attribute
      AND s.chosen_source IS NOT DISTINCT FROM core.golden_conflicts.chosen_source
      AND s.chosen_value IS NOT DISTINCT FROM core.golden_conflicts.chosen_value
      AND s.other_source IS NOT DISTINCT FROM core.golden_conflicts.other_source
      AND s.other_value IS NOT DISTINCT FROM core.golden_conflicts.other_value
      AND s.rule IS NOT DISTINCT FROM core.golden_conflicts.rule
);
