INSERT INTO core.steward_decisions (
    decision_id, left_source, left_source_id, right_source, right_source_id, decision,
    restore_golden_id, decided_by, decided_at
)
VALUES (:decision_id, :left_source, :left_source_id, :right_source, :right_source_id, :decision,
        :restore_golden_id, :decided_by, :decided_at)
ON CONFLICT (decision_id) DO NOTHING;
