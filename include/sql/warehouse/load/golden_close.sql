-- End the version valid at the staged business time (close_open, split, split_extend). A version
-- that had closed by a golden merge hands the merge marker to the version inserted after it.
UPDATE core.golden_contacts
SET valid_to = p.new_valid_from,
    is_current = FALSE,
    merged_into_golden_id = NULL
FROM staging.golden_plan p
WHERE core.golden_contacts.contact_sk = p.target_sk
  AND p.action IN ('close_open', 'split', 'split_extend');
